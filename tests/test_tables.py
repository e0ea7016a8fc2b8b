"""Tables that can be asked about (qa.tables): each row one sentence with its header, in DOCX,
HTML, Markdown, CSV, XLSX and PPTX files made here; their place marks; hostile tables."""

from __future__ import annotations

import io
import zipfile

import pytest

from qa.chunking import chunk_text
from qa.documents import parse_bytes
from qa.errors import DocumentError
from qa.limits import MAX_COMPRESSION_RATIO, MAX_SHEET_CELLS
from qa.places import Places
from qa.tables import ROW_TOKENS, Table, is_number, sentence

QUESTION = "2023年的营业收入是多少?"
HEADER = ["项目", "2022年", "2023年"]
ROWS = [["营业收入", "100亿元", "120亿元"], ["净利润", "10亿元", "12亿元"],
        ["研发投入", "8亿元", "9亿元"]]
ROW = "项目：营业收入，2022年：100亿元，2023年：120亿元。"
INTRO = "公司2023年经营情况良好，主要财务数据见下表。"
AFTER = "董事会认为，公司的财务状况稳健，现金流充足。"


def lines(table: Table, rows, **kwargs) -> list[str]:
    out = []
    for row in rows:
        out += table.add(row, **kwargs)
    return [line for _, line in out + table.finish()]


def test_rows_carry_their_header():
    assert lines(Table(), [HEADER, *ROWS])[0] == ROW  # guessed: numbers under a number-free row
    table = Table()
    table.add(["Name", "Age", "City"], header=True)
    assert lines(table, [["Alice", "30", "Paris"], ["Bob", "", "Rome"]]) == \
        ["Name: Alice, Age: 30, City: Paris.", "Name: Bob, City: Rome."]


def test_header_guess_and_plain_rows():
    assert lines(Table(), [["姓名", "职务"], ["张三", "党委书记"]]) == ["姓名，职务。", "张三，党委书记。"]
    assert lines(Table(), [["营业收入", "100亿元"], ["净利润", "10亿元"]]) == \
        ["营业收入，100亿元。", "净利润，10亿元。"]  # numbers in the first row: no header
    assert lines(Table(), [["", "2022", "2023"], ["收入", "100", "120"]]) == \
        ["收入，2022：100，2023：120。"]  # years are labels; an empty label: the value alone
    assert lines(Table(guess=False), [HEADER, ROWS[0]])[0] == "项目，2022年，2023年。"
    assert is_number("120亿元") and is_number("-3.5%") and is_number("(1,234)")
    assert not is_number("2023年", years=False) and not is_number("2023-12-31")


def test_cells_merged_empty_multiline_and_repeated_headers():
    table = Table()
    table.add([(0, "项目"), (1, "金额", 2)], header=True)  # a header cell spanning two columns
    assert lines(table, [[(0, "收入"), (1, "100"), (2, "120")],
                         ["项目", "金额", "金额"],  # the header again (a long table's)
                         [(0, "成本\n（万元）"), (1, "  80 ", 2)],  # merged: written once
                         ["", None, " "]]) == \
        ["项目：收入，金额：100，金额：120。", "项目：成本 （万元），金额：80。"]
    assert lines(Table(), [["合并", "合并", "x"]]) == ["合并，x。"]  # a repeated merged value
    assert lines(Table(), []) == [] and lines(Table(), [["", ""], [None]]) == []
    title = Table()
    assert lines(title, [["2023年主要财务数据"], HEADER, ROWS[0]]) == ["2023年主要财务数据。", ROW]
    ends = lines(Table(), [["第一句。", "第二句"]])
    assert ends == ["第一句。第二句。"] and sentence("要点") == "要点。" and sentence("Done.") == "Done."


def test_a_wide_row_repeats_its_first_pair():
    header = ["项目"] + [f"{year}年第{q}季度" for year in range(2015, 2025) for q in range(1, 5)]
    row = ["营业收入"] + [f"{i}亿元" for i in range(1, 41)]
    [line] = lines(Table(), [header, row])
    sentences = [s + "。" for s in line.split("。") if s]
    assert len(sentences) > 1 and all(s.startswith("项目：营业收入，") for s in sentences)
    assert "2024年第4季度：40亿元" in line and "\n" not in line
    chunks = chunk_text(f"# 表\n\n{INTRO}\n\n{line}\n\n{AFTER}")
    assert all(c.text.count("项目：营业收入") == c.text.count("。") for c in chunks[1:-1])
    assert ROW_TOKENS < 200


def assert_row_passage(text: str, row: str = ROW) -> None:
    """The row is one line of the text, and one passage holds it whole with its header; rows
    are neither headlines nor joined to the paragraph after the table."""
    assert row in text.split("\n")
    chunks = chunk_text(text, "报告")
    holding = [c for c in chunks if row in c.text]
    assert len(holding) == 1
    assert not any("营业收入" in c.section for c in chunks)  # no row is taken for a heading
    assert not any(AFTER in c.text and "营业收入" in c.text for c in chunks)


def make_docx(path=None) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("2023年年度报告", level=1)
    document.add_paragraph(INTRO)
    document.add_paragraph("表1 主要财务数据")
    table = document.add_table(rows=len(ROWS) + 1, cols=3)
    for r, row in enumerate([HEADER, *ROWS]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph(AFTER)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_table_rows_in_document_order():
    text = parse_bytes(make_docx(), "report.docx").text
    assert text.startswith(f"# 2023年年度报告\n\n{INTRO}\n\n表1 主要财务数据\n\n{ROW}\n")
    assert text.endswith(f"项目：研发投入，2022年：8亿元，2023年：9亿元。\n\n{AFTER}")
    assert_row_passage(text)
    chunks = chunk_text(text, "报告")
    assert [c.section for c in chunks if ROW in c.text] == ["表1 主要财务数据"]


def test_docx_merged_nested_and_header_rows():
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    table = document.add_table(rows=4, cols=3)
    cells = [["地区", "城市", "人口"], ["华东", "上海", "2487万"], ["", "杭州", "1237万"],
             ["合计", "", "3724万"]]
    for r, row in enumerate(cells):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(1, 0).merge(table.cell(2, 0))  # 华东 spans two rows
    table.cell(3, 0).merge(table.cell(3, 1))  # 合计 spans two columns
    table.cell(2, 1).paragraphs[0].add_run().add_break()
    table.cell(2, 1).add_paragraph("（省会）")
    inner = table.cell(3, 2).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "常住", "户籍"
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # Word's header
    document.add_table(rows=2, cols=2)  # a table of empty cells: nothing
    buffer = io.BytesIO()
    document.save(buffer)
    assert parse_bytes(buffer.getvalue(), "m.docx").text == (
        "地区：华东，城市：上海，人口：2487万。\n"
        "地区：华东，城市：杭州 （省会），人口：1237万。\n"
        "地区：合计，人口：3724万 常住 户籍。")


def test_docx_with_only_empty_tables_has_no_text():
    import docx

    document = docx.Document()
    document.add_table(rows=3, cols=3)
    buffer = io.BytesIO()
    document.save(buffer)
    with pytest.raises(DocumentError, match="no text"):
        parse_bytes(buffer.getvalue(), "empty.docx")


HTML = f"""<html><head><title>年报</title></head><body><h1>2023年年度报告</h1><p>{INTRO}</p>
<table><caption>表1 主要财务数据</caption>
<thead><tr>{"".join(f"<th>{h}</th>" for h in HEADER)}</tr></thead><tbody>
{"".join("<tr>" + "".join(f"<td><p>{v}</p></td>" for v in row) + "</tr>" for row in ROWS)}
</tbody></table><p>{AFTER}</p><script>var x = "<table>";</script></body></html>"""


def test_html_table_rows_with_caption_and_th_header():
    text = parse_bytes(HTML.encode("utf-8"), "report.html").text
    assert text.startswith(f"# 2023年年度报告\n\n{INTRO}\n\n表1 主要财务数据\n\n{ROW}\n")
    assert text.endswith(f"\n\n{AFTER}") and "var x" not in text
    assert_row_passage(text)


def test_html_spans_nesting_layout_and_empty_tables():
    html = """<body>
    <table><tr><td>地区</td><td>城市</td><td>人口</td></tr>
    <tr><td rowspan="2">华东</td><td>上海</td><td>2487万</td></tr>
    <tr><td>杭州<br>省会</td><td>1237万<table><tr><td>常住</td></tr></table></td></tr>
    <tr><td colspan="2">合计</td><td style="x">3724万<!-- 注释 --></td></tr>
    <tr><td colspan="99999" rowspan="0">x</td></tr></table>
    <table></table><table><tr><td> </td><td></td></tr></table>
    <table><tr><td><h2>栏目</h2><p>第一段。</p></td><td><p>第二段。</p></td></tr></table>
    </body>"""
    assert parse_bytes(html.encode("utf-8"), "t.html").text == (
        "地区：华东，城市：上海，人口：2487万。\n"
        "地区：华东，城市：杭州 省会，人口：1237万 常住。\n"
        "地区：合计，人口：3724万。\n"
        "地区：x。"
        "\n\n## 栏目\n\n第一段。\n\n第二段。")  # a table with headings lays out a page


def test_markdown_pipe_table():
    markdown = (f"# 2023年年度报告\n\n{INTRO}\n| 项目 | 2022年 | 2023年 |\n|:---|---:|---:|\n"
                + "".join(f"| {' | '.join(row)} |\n" for row in ROWS)
                + f"{AFTER}\n\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n```\n")
    text = parse_bytes(markdown.encode("utf-8"), "report.md").text
    assert f"{INTRO}\n\n{ROW}\n" in text
    assert "| a | b |\n|---|---|\n| 1 | 2 |" in text  # fenced code is left as it is
    assert_row_passage(text)
    assert parse_bytes("a | b\n\n# x\n".encode(), "n.md").text == "a | b\n\n# x\n"


def assert_marks(document, expected: list) -> None:
    """Each mark's offset is where its line starts in the final text."""
    assert [mark for _, mark in document.places] == [mark for mark, _ in expected]
    for (offset, _), (_, start) in zip(document.places, expected):
        assert document.text[offset:].startswith(start), (offset, start)


def test_csv_in_gb18030_with_semicolons():
    data = ("项目;2022年;2023年\r\n"
            + "".join(";".join(row) + "\r\n" for row in ROWS[:1])
            + '"净利润\r\n（归母）";10亿元;"12\x01亿元"\r\n\r\n'
            + ";".join(ROWS[2]) + "\r\n").encode("gb18030")
    document = parse_bytes(data, "财务.csv")
    assert document.encoding == "gb18030"
    assert document.text == ("## 财务\n\n" + ROW
                             + "\n项目：净利润 （归母），2022年：10亿元，2023年：12亿元。"
                             "\n项目：研发投入，2022年：8亿元，2023年：9亿元。\n")
    assert_marks(document, [({"sheet": "财务"}, "## 财务"), ({"row": 2}, ROW),
                            ({"row": 3}, "项目：净利润"), ({"row": 5}, "项目：研发投入")])
    assert parse_bytes(b"name,age\nAlice,30\n", "p.csv").text == "## p\n\nname: Alice, age: 30.\n"
    assert parse_bytes(b"a\tb\tc\n1\t2\t3\n", "t.csv").text == "## t\n\na: 1, b: 2, c: 3.\n"


def make_xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "利润表"
    sheet.append(["2023年主要财务数据"])
    sheet.append([*HEADER, "增长"])
    sheet.append(["营业收入", 100, 120.0, 0.2])
    sheet["D3"].number_format = "0%"
    sheet.append(["净利润", 10.5, "=B4*1.2", None])  # a formula never computed: no value
    sheet.append([])
    sheet.append(["研发投入", 8, 9])
    staff = book.create_sheet("人员")
    staff.append(["部门", "人数"])
    staff.append(["研发部", 1200])
    book.create_sheet("空表")
    hidden = book.create_sheet("隐藏")
    hidden.append(["不显示"])
    hidden.sheet_state = "hidden"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_sheets_rows_and_places():
    document = parse_bytes(make_xlsx(), "report.xlsx")
    first = "项目：营业收入，2022年：100，2023年：120，增长：20%。"
    assert document.text == (
        "## 利润表\n\n2023年主要财务数据。\n" + first + "\n项目：净利润，2022年：10.5。\n"
        "项目：研发投入，2022年：8，2023年：9。\n\n## 人员\n\n部门：研发部，人数：1200。\n")
    assert_marks(document, [({"sheet": "利润表"}, "## 利润表"), ({"row": 1}, "2023年"),
                            ({"row": 3}, first), ({"row": 4}, "项目：净利润"),
                            ({"row": 6}, "项目：研发投入"), ({"sheet": "人员"}, "## 人员"),
                            ({"row": 2}, "部门：研发部")])
    places = Places(document.places)
    chunks = chunk_text(document.text, "report")
    assert [(c.section, places.at(c.start, c.end)) for c in chunks] == [
        ("利润表", {"sheet": "利润表", "rows": [1, 6]}),
        ("人员", {"sheet": "人员", "rows": [2, 2]})]
    assert first in chunks[0].text


def test_pptx_slides_titles_tables_notes_and_places():
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "年度回顾"
    body = slide.placeholders[1].text_frame
    body.text = "营收创新高"
    body.add_paragraph().text = "成本下降"
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "财务数据"
    table = slide.shapes.add_table(len(ROWS) + 1, 3, Inches(1), Inches(2), Inches(6),
                                   Inches(2)).table
    for r, row in enumerate([HEADER, *ROWS]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    slide.notes_slide.notes_text_frame.text = "讲稿：收入增长两成。"
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    slide.shapes.add_textbox(0, 0, Inches(3), Inches(1)).text_frame.text = "Thanks"
    buffer = io.BytesIO()
    deck.save(buffer)
    document = parse_bytes(buffer.getvalue(), "deck.pptx")
    assert document.text == (
        "## 年度回顾\n\n营收创新高。\n成本下降。\n\n## 财务数据\n\n" + ROW
        + "\n项目：净利润，2022年：10亿元，2023年：12亿元。\n项目：研发投入，2022年：8亿元，2023年：9亿元。"
        "\n\n讲稿：收入增长两成。\n\n## Slide 3\n\nThanks.\n")
    assert_marks(document, [({"slide": 1}, "## 年度回顾"), ({"slide": 2}, "## 财务数据"),
                            ({"slide": 3}, "## Slide 3")])
    places = Places(document.places)
    found = {c.text: (c.section, places.at(c.start, c.end))
             for c in chunk_text(document.text, "deck")}
    assert found["营收创新高。成本下降。"] == ("年度回顾", {"slide": 1})
    assert [where for text, where in found.items() if ROW in text] == [("财务数据", {"slide": 2})]


def _rezip(data: bytes, part: str, change) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            archive.writestr(info, change(content) if info.filename == part else content)
    return out.getvalue()


def test_a_sheet_over_the_cell_limit_is_refused():
    far = MAX_SHEET_CELLS + 1  # one cell that far down: every row up to it is read
    data = _rezip(make_xlsx(), "xl/worksheets/sheet1.xml", lambda xml: xml.replace(
        b"</sheetData>", f'<row r="{far}"><c r="A{far}" t="inlineStr"><is><t>x</t></is></c>'
        f"</row></sheetData>".encode()))
    with pytest.raises(DocumentError, match=rf"^huge.xlsx: .*{MAX_SHEET_CELLS:,}-cell limit"):
        parse_bytes(data, "huge.xlsx")
    with pytest.raises(DocumentError, match=rf"^wide.csv: .*{MAX_SHEET_CELLS:,}-cell limit"):
        parse_bytes(b"a" + b"," * MAX_SHEET_CELLS, "wide.csv")


def test_spreadsheets_and_slides_that_are_bombs_broken_or_empty_are_refused():
    bomb = _rezip(make_xlsx(), "xl/worksheets/sheet1.xml",
                  lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + b" " * (4 << 20)))
    with pytest.raises(DocumentError, match=f"{MAX_COMPRESSION_RATIO}:1 limit"):
        parse_bytes(bomb, "bomb.xlsx")
    for name in ("fake.xlsx", "fake.pptx"):
        with pytest.raises(DocumentError, match=rf"^{name}: not a valid"):
            parse_bytes(b"PK not really a zip", name)
    with pytest.raises(DocumentError, match="cannot read|not a valid"):
        parse_bytes(make_docx(), "renamed.xlsx")
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    with pytest.raises(DocumentError, match="no text"):
        parse_bytes(buffer.getvalue(), "blank.xlsx")
    with pytest.raises(DocumentError, match="no text"):
        parse_bytes(b";;\n;;\n", "blank.csv")


def test_a_table_row_answers_end_to_end(make_retriever):
    other = ("宁海县第三水厂从2006年开始土地征用工作，共征地140亩。\n\n"
             "划船社区党委书记带领居民开展垃圾分类，社区环境明显改善。")
    retriever, _ = make_retriever({"report.docx": make_docx(), "page.html": HTML,
                                   "news.txt": other})
    found = retriever.retrieve(QUESTION, k=3, possible=True)
    assert found and found[0].source.endswith(("report.docx", "page.html"))
    assert ROW in found[0].text and "120亿元" in found[0].answer
    html_only = retriever.retrieve(QUESTION, k=1, possible=True, sources="*.html")
    assert ROW in html_only[0].text and "120亿元" in html_only[0].answer


def _hostile_docx() -> bytes:
    from test_hostile_inputs import _docx

    cell = '<w:tc><w:tcPr><w:gridSpan w:val="99999{0}"/><w:vMerge/></w:tcPr><w:p><w:r><w:t>x{0}' \
        "</w:t></w:r></w:p></w:tc>"
    wide = "<w:tbl><w:tr>" + "".join(cell.format(i) for i in range(20_000)) + "</w:tr></w:tbl>"
    nested = "<w:tbl><w:tr><w:tc>" * 60 + "<w:p><w:r><w:t>深{}</w:t></w:r></w:p>" + \
        "</w:tc></w:tr></w:tbl>" * 60
    return _docx([wide.encode(), *(nested.format(i).encode() for i in range(1000))])


HOSTILE = {  # each would take minutes if a step were quadratic
    "rowspans.html": lambda: ("<table>" + "".join(  # every row spans to the end
        f"<tr><td rowspan=0></td><td colspan=1000>{i}</td></tr>" for i in range(20_000))
        + "</table>").encode(),
    "spans.docx": _hostile_docx,
    "wide.md": lambda: ("|" + "|".join(f"列{i}" for i in range(2000)) + "|\n" + "|-" * 2000
                        + "|\n" + ("|" + "|".join(map(str, range(2000))) + "|\n") * 200).encode(),
    "header_rows.html": lambda: ("<table>" + "<tr><th colspan=1000>标题</th></tr>" * 20_000
                                 + "</table>").encode(),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_tables_are_read_in_bounded_time(name):
    import time

    data = HOSTILE[name]()
    start = time.perf_counter()
    document = parse_bytes(data, name)
    chunks = chunk_text(document.text, "t", source=name)
    assert chunks and time.perf_counter() - start < 20


@pytest.mark.parametrize("module, name", [("openpyxl", "a.xlsx"), ("pptx", "a.pptx")])
def test_a_missing_reader_names_its_install(monkeypatch, module, name):
    import sys

    from qa.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(MissingDependencyError, match=r"pip install (openpyxl|python-pptx)"):
        parse_bytes(b"PK not read", name)  # the reader is looked for first

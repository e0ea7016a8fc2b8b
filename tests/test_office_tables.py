"""Tables in spreadsheets and slides (XLSX, PPTX) made here, their place marks, the limits
that refuse bombs and broken files, a table row answering end to end, and hostile tables read
in bounded time."""

from __future__ import annotations

import io
import zipfile

import pytest
from table_files import HEADER, HTML, QUESTION, ROW, ROWS, assert_marks, make_docx

from qa.chunking import chunk_text
from qa.documents import parse_bytes
from qa.errors import DocumentError
from qa.limits import MAX_COMPRESSION_RATIO, MAX_SHEET_CELLS
from qa.places import Places


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

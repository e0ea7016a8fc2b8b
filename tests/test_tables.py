"""Tables that can be asked about (qa.tables): each row one sentence with its header, in DOCX,
HTML, Markdown and CSV files made here, and their place marks (spreadsheets, slides and hostile
tables: test_office_tables.py)."""

from __future__ import annotations

import io

import pytest
from table_files import (AFTER, HEADER, HTML, INTRO, ROW, ROWS, assert_marks,
                         assert_row_passage, make_docx)

from qa.chunking import chunk_text
from qa.documents import parse_bytes
from qa.errors import DocumentError
from qa.tables import ROW_TOKENS, Table, is_number, sentence


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

"""Table documents made here for the table tests (no binaries from elsewhere): a financial
table's header and rows, in DOCX and HTML, and checks on the passages and place marks."""

from __future__ import annotations

import io

from qa.chunking import chunk_text

QUESTION = "2023年的营业收入是多少?"
HEADER = ["项目", "2022年", "2023年"]
ROWS = [["营业收入", "100亿元", "120亿元"], ["净利润", "10亿元", "12亿元"],
        ["研发投入", "8亿元", "9亿元"]]
ROW = "项目：营业收入，2022年：100亿元，2023年：120亿元。"
INTRO = "公司2023年经营情况良好，主要财务数据见下表。"
AFTER = "董事会认为，公司的财务状况稳健，现金流充足。"


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


HTML = f"""<html><head><title>年报</title></head><body><h1>2023年年度报告</h1><p>{INTRO}</p>
<table><caption>表1 主要财务数据</caption>
<thead><tr>{"".join(f"<th>{h}</th>" for h in HEADER)}</tr></thead><tbody>
{"".join("<tr>" + "".join(f"<td><p>{v}</p></td>" for v in row) + "</tr>" for row in ROWS)}
</tbody></table><p>{AFTER}</p><script>var x = "<table>";</script></body></html>"""


def assert_marks(document, expected: list) -> None:
    """Each mark's offset is where its line starts in the final text."""
    assert [mark for _, mark in document.places] == [mark for mark, _ in expected]
    for (offset, _), (_, start) in zip(document.places, expected):
        assert document.text[offset:].startswith(start), (offset, start)

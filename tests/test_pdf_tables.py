"""PDF tables (qa.pdftables): ruled tables found by pdfplumber are written as rows that keep
their header (qa.tables), in place of their region; pages without one keep pypdf's text.

The PDFs are written by hand: Helvetica text drawn with ``Tj``, ruling lines with ``re`` and
``m``/``l`` + ``S``.
"""

from __future__ import annotations

import io
import logging

import pytest

from qa.documents import _clean, parse_bytes
from qa.pdftext import pdf_text
from pdfs import serialize


INTRO = "The company reports its results for the last two years in the table below."
AFTER = "Both years were profitable and the board proposes a dividend."
HEADER = ["Year", "Revenue", "Profit"]
ROWS = [["2022", "100", "10"], ["2023", "120", "12"]]
PROSE = ("The town library opened a reading room for children. Volunteers read stories every "
         "Saturday morning.")


CJK_FONT = ("<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
            "/DescendantFonts [<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
            "/FontDescriptor << /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
            "/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
            "/CapHeight 880 /StemV 93 >> /DW 1000 >>] >>")
"""Adobe's STSong-Light, not embedded, its text as UCS-2 codes (``/F2``)."""


def pdf(pages: list[str], entries: dict[int, str] | None = None,
        forms: dict[str, tuple[str, str]] | None = None) -> bytes:
    """A PDF whose pages have the given content streams, by hand: Helvetica as ``/F1``, a CJK
    font as ``/F2``; ``entries``: more keys of page ``n``'s dictionary (from 0); ``forms``:
    form XObjects every page may draw (``/name Do``), as ``(content, more dictionary keys)``."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", CJK_FONT]
    fonts = "/Font << /F1 3 0 R /F2 4 0 R >>"
    names = []
    for name, (content, keys) in (forms or {}).items():
        objects.append(f"<< /Type /XObject /Subtype /Form {keys} /Resources << {fonts} >> "
                       f"/Length {len(content)} >>\nstream\n{content}\nendstream")
        names.append(f"/{name} {len(objects)} 0 R")
    xobjects = f"/XObject << {' '.join(names)} >>" if names else ""
    kids = []
    for number, content in enumerate(pages):
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"{(entries or {}).get(number, '')} /Contents {len(objects)} 0 R "
                       f"/Resources << {fonts} {xobjects} >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    return serialize(objects)


def text(x: float, y: float, line: str, size: int = 10) -> str:
    """One line of text with its baseline at ``(x, y)``: Helvetica, or the CJK font (as
    UCS-2 codes) when it holds a character beyond Latin-1."""
    if any(ord(char) > 0xFF for char in line):
        return f"BT /F2 {size} Tf {x} {y} Td <{line.encode('utf-16-be').hex()}> Tj ET"
    escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"BT /F1 {size} Tf {x} {y} Td ({escaped}) Tj ET"


def ruled_table(x: float, top: float, rows: list[list[str]], width: float = 100,
                height: float = 20) -> str:
    """A grid: the outer frame as ``re``, inner rules as ``m``/``l``, each cell's text."""
    columns, bottom = len(rows[0]), top - height * len(rows)
    ops = [f"0.5 w {x} {bottom} {width * columns} {height * len(rows)} re S"]
    for row in range(1, len(rows)):
        y = top - height * row
        ops.append(f"{x} {y} m {x + width * columns} {y} l S")
    for column in range(1, columns):
        ops.append(f"{x + width * column} {bottom} m {x + width * column} {top} l S")
    for row, cells in enumerate(rows):
        for column, cell in enumerate(cells):
            ops.append(text(x + width * column + 5, top - height * (row + 1) + 6, cell))
    return "\n".join(ops)


def table_page() -> str:
    """A paragraph, a ruled table (Year | Revenue | Profit), a paragraph."""
    return "\n".join([text(72, 720, INTRO), ruled_table(72, 700, [HEADER] + ROWS),
                      text(72, 620, AFTER)])


def prose_page(lines: int = 1) -> str:
    return "\n".join(text(72, 740 - 12 * n, f"{n + 1}. {PROSE}") for n in range(lines))


def pypdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [_clean(page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages]


def pages_of(data: bytes) -> list[str]:
    """``pdf_text``'s text cut at its page marks (the blank lines between pages dropped)."""
    whole, places, _ = pdf_text(data, "report.pdf")
    starts = [offset for offset, _ in places] + [len(whole) + 2]
    return [whole[start:end - 2] for start, end in zip(starts, starts[1:])]


ROWS_TEXT = "Year: 2022, Revenue: 100, Profit: 10.\nYear: 2023, Revenue: 120, Profit: 12."


def test_a_ruled_table_is_written_as_rows_with_its_header_in_its_place():
    data = pdf([table_page()])
    text, places, notes = pdf_text(data, "report.pdf")
    assert text == f"{INTRO}\n\n{ROWS_TEXT}\n\n{AFTER}"
    assert places == ((0, {"page": 1}),) and notes == {}
    assert "Year Revenue Profit" in pypdf_pages(data)[0]  # what pypdf alone gives: loose words
    document = parse_bytes(data, "report.pdf")
    assert "Year: 2023, Revenue: 120, Profit: 12." in document.text


def test_a_chinese_table_with_a_two_level_header_and_a_wrapped_cell():
    rules = ["0.5 w 72 600 300 100 re S", "172 680 m 372 680 l S", "72 660 m 372 660 l S",
             "72 630 m 372 630 l S", "172 600 m 172 700 l S", "272 600 m 272 680 l S"]
    cells = [text(77, 677, "项目"), text(177, 686, "2023年"), text(177, 666, "金额"),
             text(277, 666, "占比"), text(77, 646, "营业"), text(77, 634, "收入"),  # two lines
             text(177, 640, "120亿元"), text(277, 640, "60%"), text(77, 610, "净利润"),
             text(177, 610, "12亿元"), text(277, 610, "10%")]
    intro = text(72, 720, "公司近两年的经营情况如下表所示。")
    data = pdf(["\n".join([intro] + rules + cells)])
    assert pdf_text(data, "年报.pdf")[0] == (
        "公司近两年的经营情况如下表所示。\n\n"
        "项目：营业收入，2023年 金额：120亿元，2023年 占比：60%。\n"
        "项目：净利润，2023年 金额：12亿元，2023年 占比：10%。")


def test_pages_without_a_ruled_table_keep_exactly_pypdf_text():
    underlined = "\n".join([prose_page(5)] + [f"72 {730 - 12 * n} m 500 {730 - 12 * n} l S"
                                               for n in range(4)])  # rules, no table
    boxed = "\n".join([prose_page(3), "72 690 400 60 re S 72 720 m 472 720 l S",
                       "72 705 m 472 705 l S"])  # a one-column box: not a table
    aligned = "\n".join(text(72 + 100 * c, 700 - 20 * r, cell)  # columns without rules
                        for r, row in enumerate([HEADER] + ROWS) for c, cell in enumerate(row))
    data = pdf([prose_page(40), underlined, boxed, aligned, table_page()])
    pages = pages_of(data)
    assert pages[:4] == pypdf_pages(data)[:4]
    assert pages[4] == f"{INTRO}\n\n{ROWS_TEXT}\n\n{AFTER}"


def test_a_table_drawn_in_a_form_is_found():
    data = pdf([text(72, 720, INTRO) + "\n/X1 Do"],
               forms={"X1": (ruled_table(72, 700, [HEADER] + ROWS), "/BBox [0 0 612 792]")})
    assert pdf_text(data, "report.pdf")[0] == f"{INTRO}\n\n{ROWS_TEXT}"


def test_a_page_pdfplumber_cannot_read_keeps_pypdf_text(caplog):
    """Page 1 draws its table in a form whose /Matrix is broken (pdfminer raises), page 2 has
    a /Rotate that is not a number (pdfplumber raises), page 3 is sound."""
    data = pdf([text(72, 720, INTRO) + "\n/X1 Do", table_page(), table_page()],
               entries={1: "/Rotate (x)"},
               forms={"X1": (ruled_table(72, 700, [HEADER] + ROWS),
                             "/BBox [0 0 612 792] /Matrix [1 0 0]")})
    with caplog.at_level(logging.INFO, logger="qa.pdftables"):
        pages = pages_of(data)
    layers = pypdf_pages(data)
    assert "Year Revenue Profit" in layers[0] and "Year Revenue Profit" in layers[1]
    assert pages[:2] == layers[:2]
    assert pages[2] == f"{INTRO}\n\n{ROWS_TEXT}\n\n{AFTER}"
    failed = [r.getMessage() for r in caplog.records if "pdfplumber failed" in r.getMessage()]
    assert len(failed) == 2 and "page 1:" in failed[0] and "page 2:" in failed[1]


def test_a_page_of_too_many_rules_is_not_searched(caplog):
    """A 200 x 100 grid (20,301 crossings) would take pdfplumber about ten seconds."""
    rules = [f"{20 + 5.7 * c:.1f} 20 m {20 + 5.7 * c:.1f} 770 l S" for c in range(101)]
    rules += [f"20 {20 + 3.75 * r:.2f} m 590 {20 + 3.75 * r:.2f} l S" for r in range(201)]
    data = pdf([prose_page(2) + "\n" + "\n".join(rules)])
    with caplog.at_level(logging.INFO, logger="qa.pdftables"):
        assert pages_of(data) == pypdf_pages(data)
    assert any("crossings of rules" in r.getMessage() for r in caplog.records)


def test_the_revenue_of_2023_is_found_with_its_page(make_retriever):
    data = pdf([prose_page(3), table_page()])
    retriever, _ = make_retriever({"results.pdf": data})
    passage = retriever.retrieve("What was the revenue in 2023?", k=3, possible=True)[0]
    assert "Year: 2023, Revenue: 120, Profit: 12." in passage.text
    assert passage.place == {"page": 2}

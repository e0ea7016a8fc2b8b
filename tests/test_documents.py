"""Reading files: encodings, HTML, bad input."""

import codecs

import pytest

from qa.documents import parse_bytes, read_document
from qa.errors import DocumentError

ZH = "宁海县第三水厂从2006年开始土地征用工作，但因政策处理问题一直未能建成使用。\n"
ZH_TW = "臺灣的首都是臺北，這裡的人們說國語。\n"


@pytest.mark.parametrize("encoding, data, text", [
    ("utf-8", ZH.encode("utf-8"), ZH),
    ("utf-8-sig", codecs.BOM_UTF8 + ZH.encode("utf-8"), ZH),
    ("utf-16 BOM", ZH.encode("utf-16"), ZH),
    ("utf-16-be BOM", codecs.BOM_UTF16_BE + ZH.encode("utf-16-be"), ZH),
    ("gb18030", (ZH * 3).encode("gb18030"), ZH * 3),
    ("gbk", (ZH * 3).encode("gbk"), ZH * 3),
    ("big5", (ZH_TW * 3).encode("big5"), ZH_TW * 3),
])
def test_encodings(encoding, data, text):
    document = parse_bytes(data, "doc.txt")
    assert document.text == text, encoding


def test_markdown_and_crlf(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes("# 标题\r\n\r\n正文。\r\n".encode("utf-8"))
    assert read_document(path).text == "# 标题\n\n正文。\n"


def test_html_keeps_visible_text_only():
    html = ("<html><head><title>T</title><style>p{color:red}</style></head><body>"
            "<h1>水厂</h1><script>alert('x')</script><p>第一段。</p><div><p>第二段 &amp; more。</p>"
            "</div><noscript>hidden</noscript></body></html>")
    text = parse_bytes(html.encode("utf-8"), "page.html").text
    assert text == "# 水厂\n\n第一段。\n\n第二段 & more。"
    assert "alert" not in text and "color" not in text and "hidden" not in text


@pytest.mark.parametrize("name, data, message", [
    ("empty.txt", b"", "empty"),
    ("blank.txt", b"  \n\n ", "empty"),
    ("binary.txt", bytes(range(256)) * 20, "binary"),
    ("notes.xyz", b"hello", "unsupported"),
    ("broken.pdf", b"%PDF-1.4 not really", "PDF"),
    ("fake.docx", b"not a zip at all", "docx"),
])
def test_bad_files_are_refused_with_a_reason(name, data, message):
    with pytest.raises(DocumentError, match=message):
        parse_bytes(data, name)


def test_missing_file(tmp_path):
    with pytest.raises(DocumentError, match="cannot read"):
        read_document(tmp_path / "nope.txt")


def test_invalid_utf8_in_the_middle_is_repaired():
    good = ("宁海县第三水厂的征地工作进展顺利。" * 200).encode("utf-8")
    data = good[:3000] + b"\xff\xfe" + good[3000:]
    document = parse_bytes(data, "mostly-utf8.txt")
    assert document.encoding.startswith("utf-8") and "\ufffd" in document.text
    assert document.text.count("宁海县") >= 199


def test_html_declaring_the_wrong_encoding_is_read_by_its_bytes():
    html = '<html><head><meta charset="gbk"></head><body><p>臺北的天氣很好。</p></body></html>'
    assert parse_bytes(html.encode("utf-8"), "wrong.html").text == "臺北的天氣很好。"


def test_huge_file_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as handle:
        handle.truncate(200 * 1024 * 1024)
    with pytest.raises(DocumentError, match="over the"):
        read_document(huge)


def test_encrypted_and_truncated_pdfs_are_refused(tmp_path):
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    path = tmp_path / "locked.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    with pytest.raises(DocumentError, match="encrypted"):
        read_document(path)
    with pytest.raises(DocumentError):
        parse_bytes(path.read_bytes()[:200], "cut.pdf")


def test_docx_headings_and_paragraphs(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("水厂", level=1)
    document.add_paragraph("宁海县第三水厂从2006年开始土地征用工作。")
    path = tmp_path / "w.docx"
    document.save(path)
    assert read_document(path).text == "# 水厂\n\n宁海县第三水厂从2006年开始土地征用工作。"


def test_html_title_is_the_heading_when_there_is_no_h1():
    html = ("<html><head><title> 宁海 水厂\n news </title></head><body><div><p>第一段。</p>"
            "<p>Second <b>paragraph</b>.</p></div><ul><li>一</li><li>two</li></ul></body></html>")
    assert parse_bytes(html.encode("utf-8"), "t.html").text == \
        "# 宁海 水厂 news\n\n第一段。\n\nSecond paragraph .\n\n一\n\ntwo"


def test_html_nested_too_deep_is_refused_naming_the_limit():
    from qa.limits import MAX_HTML_DEPTH

    ok = "<div>" * (MAX_HTML_DEPTH - 1) + "水厂。" + "</div>" * (MAX_HTML_DEPTH - 1)
    assert parse_bytes(ok.encode("utf-8"), "ok.html").text == "水厂。"
    deep = "<div>" * (MAX_HTML_DEPTH + 1) + "水厂。"
    with pytest.raises(DocumentError, match=rf"^deep.html: .* more than {MAX_HTML_DEPTH} deep"):
        parse_bytes(deep.encode("utf-8"), "deep.html")


def test_docx_tables_breaks_and_custom_styles(tmp_path):
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    document.add_heading("Water works 水厂", level=0)
    document.add_heading("Funding", level=2)
    paragraph = document.add_paragraph("第一行", style="Quote")
    paragraph.add_run().add_break()
    paragraph.add_run("second line\tend")
    paragraph.add_run().add_break(WD_BREAK.PAGE)
    document.add_table(rows=1, cols=1).cell(0, 0).text = "表格里的字"  # a row: one sentence
    path = tmp_path / "t.docx"
    document.save(path)
    assert read_document(path).text == \
        "# Water works 水厂\n\n## Funding\n\n第一行\nsecond line\tend\n\n表格里的字。"

"""Hostile documents of about 1 MB: each is parsed and chunked, or refused, in bounded time.

Every case runs ``parse_bytes`` then ``chunk_text`` in a worker process that gets
``GUARD_SECONDS`` (far more than the second or two a case takes; a quadratic step would take
minutes or hours). Speed itself is measured by ``bench/parse_hostile.py``, which reuses
:data:`CASES`.
"""

from __future__ import annotations

import io
import multiprocessing
import zipfile
from collections.abc import Iterable

import pytest

from qa.errors import DocumentError
from qa.limits import (MAX_DECOMPRESSED_BYTES, MAX_HTML_DEPTH, MAX_PASSAGES_PER_DOCUMENT,
                       MAX_PDF_PAGES, MAX_TEXT_CHARS)

GUARD_SECONDS = 20
MB = 2**20
ZH = "宁海县第三水厂从2006年开始土地征用工作，但因政策处理问题一直未能建成使用。"
EN = "The third water plant of Ninghai began acquiring land in 2006 but was not built for years. "


def _docx(paragraphs: Iterable[bytes]) -> bytes:
    """A .docx (python-docx's template) whose body is ``paragraphs``, written as a stream."""
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    template, out = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in template.infolist():
            data = template.read(info.filename)
            if info.filename != "word/document.xml":
                archive.writestr(info.filename, data)
                continue
            head, tail = data.split(b"<w:body>")
            with archive.open(info.filename, "w", force_zip64=True) as stream:
                stream.write(head + b"<w:body>")
                for chunk in paragraphs:
                    stream.write(chunk)
                stream.write(tail)
    return out.getvalue()


def _repeat(chunk: bytes, total: int) -> Iterable[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk


def _pdf(pages: int) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _nested_html(depth: int, copies: int) -> str:
    return "<html><body>" + ("<div>" * depth + f"<p>{ZH}</p>" + "</div>" * depth) * copies


PARAGRAPH = f"<w:p><w:r><w:t>{ZH}{EN}</w:t></w:r></w:p>".encode()
# name: (file name, a function making the file's bytes); each about 1 MB unless said otherwise
CASES = {
    "dots_after_a_long_word": ("regex.txt", lambda: ("a" * MB + "..x.").encode()),
    "runs_of_stops_and_closers": ("runs.txt", lambda: (
        ("." * 999 + "。" * 999 + "…" * 999 + "”」）" * 333 + "a.b..c" + ZH) * 100).encode()),
    "one_line_no_punctuation": ("line.txt", lambda: ("宁海县第三水厂土地征用工作" * 27000).encode()),
    "alternating_dot_space": ("dots.txt", lambda: (". " * (MB // 2)).encode()),
    "headline_lines": ("headlines.txt", lambda: (  # headlines between captions do not merge
        "党建\n图/\n" * 75_000 + "本报讯 " + ZH).encode()),
    # 4 MB: joining lines by copying the growing paragraph again takes ~40 s here, ~3 s without
    "broken_lines": ("broken.txt", lambda: ("水，\n" * 600_000 + "建成。").encode()),
    "broken_lines_in_blocks": ("blocks.md", lambda: ("水，\n" * 600_000 + "\n\n\n建成。").encode()),
    "nested_html_over_limit": ("deep.html", lambda: _nested_html(200_000, 1).encode()),
    "nested_html_under_limit": ("deepish.html",
                                lambda: _nested_html(MAX_HTML_DEPTH - 3, 180).encode()),
    "wide_html": ("wide.html", lambda: ("<html><head><title>宽</title></head><body>" + "".join(
        f"<p>第{i}段。</p>" for i in range(100_000)) + "</body></html>").encode()),  # 1.8 MB
    "docx_zip_bomb": ("bomb.docx", lambda: _docx(_repeat(PARAGRAPH * 5000, 256 * MB))),  # ~1 MB
    "docx_high_ratio": ("ratio.docx", lambda: _docx([b"<w:p><w:r><w:t>", *_repeat(  # ~1000:1
        b"a" * MB, MAX_DECOMPRESSED_BYTES - 2 * MB), b"</w:t></w:r></w:p>"])),  # under the limit
    "docx_100000_paragraphs": ("many.docx", lambda: _docx(
        f"<w:p><w:r><w:t>第{i}段。{EN}</w:t></w:r></w:p>".encode() for i in range(100_000))),
    "pdf_over_page_limit": ("pages.pdf", lambda: _pdf(MAX_PDF_PAGES + 1)),  # ~0.1 MB
    "text_over_char_limit": ("long.txt", lambda: b"water plant " * (MAX_TEXT_CHARS // 12 + 1)),
}


def parse_and_chunk(case: str) -> dict:
    """Make, parse and chunk one case; a summary (or the refusal's message)."""
    from qa.chunking import chunk_text
    from qa.documents import parse_bytes

    name, make = CASES[case]
    data = make()
    try:
        text = parse_bytes(data, name).text
    except DocumentError as exc:
        return {"bytes": len(data), "refused": str(exc)}
    try:
        chunks = chunk_text(text, name.rsplit(".", 1)[0], source=name)
    except DocumentError as exc:
        return {"bytes": len(data), "paragraphs": text.count("\n\n") + 1, "refused": str(exc)}
    return {"bytes": len(data), "paragraphs": text.count("\n\n") + 1, "passages": len(chunks),
            "longest": max((len(c.text) for c in chunks), default=0),
            "titles": sorted({c.title[:20] for c in chunks})[:3],
            "first": chunks[0].text[:40] if chunks else ""}


@pytest.fixture(scope="module")
def guarded():
    """``guarded(case)``: :func:`parse_and_chunk` in a worker, failing after GUARD_SECONDS."""
    pool = multiprocessing.get_context("spawn").Pool(1)

    def run(case: str) -> dict:
        try:
            return pool.apply_async(parse_and_chunk, (case,)).get(timeout=GUARD_SECONDS)
        except multiprocessing.TimeoutError:
            pytest.fail(f"{case}: not done in {GUARD_SECONDS} s (super-linear parsing?)")

    yield run
    pool.terminate()


@pytest.mark.parametrize("case", ["dots_after_a_long_word", "runs_of_stops_and_closers",
                                  "one_line_no_punctuation", "alternating_dot_space"])
def test_sentence_splitting_of_hostile_text_is_bounded(guarded, case):
    result = guarded(case)
    assert "refused" not in result and result["passages"] >= 1
    assert result["longest"] <= 2000  # 200 tokens: at most 600 Latin or 200 CJK characters + joins


def test_thousands_of_headline_lines_are_resolved_once(guarded):
    result = guarded("headline_lines")
    assert result["passages"] == 1 and result["first"].startswith("本报讯")
    assert result["titles"] == ["党建"]  # the last headline, as a news lead follows


@pytest.mark.parametrize("case", ["broken_lines", "broken_lines_in_blocks"])
def test_many_broken_lines_join_into_one_paragraph(guarded, case):
    result = guarded(case)
    assert result["passages"] == 600_000 // 150 + 1  # 150 × "水，" = 200 tokens; then 建成。
    assert result["first"] == "水，" * 20


def test_html_nested_beyond_the_limit_is_refused(guarded):
    result = guarded("nested_html_over_limit")
    assert "deep.html" in result["refused"] and f"{MAX_HTML_DEPTH}" in result["refused"]


def test_html_nested_just_under_the_limit_is_read(guarded):
    result = guarded("nested_html_under_limit")
    assert result["paragraphs"] == 180 and result["passages"] == 180
    assert result["first"] == ZH


def test_wide_html_is_read_then_refused_at_the_passage_limit(guarded):
    result = guarded("wide_html")
    assert result["paragraphs"] == 100_001  # the <title> line and 100,000 <p>
    assert result["refused"].startswith("wide.html: more than") and \
        f"{MAX_PASSAGES_PER_DOCUMENT:,} passages" in result["refused"]


@pytest.mark.parametrize("case, limit", [
    ("docx_zip_bomb", f"{MAX_DECOMPRESSED_BYTES // MB} MB limit"), ("docx_high_ratio", ":1 limit"),
    ("pdf_over_page_limit", f"{MAX_PDF_PAGES:,}-page limit"),
    ("text_over_char_limit", f"{MAX_TEXT_CHARS:,}-character limit"),
])
def test_files_over_a_limit_are_refused_naming_it(guarded, case, limit):
    result = guarded(case)
    assert result["refused"].startswith(CASES[case][0] + ":") and limit in result["refused"]
    assert result["bytes"] < 3 * MB or case == "text_over_char_limit"


def test_docx_with_100000_paragraphs_is_read(guarded):
    result = guarded("docx_100000_paragraphs")
    assert result["paragraphs"] == 100_000  # then too many passages
    assert result["refused"].startswith(f"many.docx: more than {MAX_PASSAGES_PER_DOCUMENT:,}")

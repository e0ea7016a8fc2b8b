"""OCR of image-only PDF pages (qa/ocr.py) and the test for unusable text layers.

The PDF is made here: Chinese and English lines drawn with a CJK font onto a white page image
at 200 dpi, saved by Pillow as a PDF with no text layer. The real engine reads it once per
module, with network connections refused.
"""

from __future__ import annotations

import difflib
import io
import socket
import sys
import time
from pathlib import Path

import pytest

from qa import ocr
from qa.errors import DocumentError, MissingDependencyError
from qa.ocr import BAD_SHARE, MOJIBAKE_SHARE, garbled, ocr_pages

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
DPI = 200
ZH_LINES = [
    "宁海县第三水厂从2006年开始土地征用工作，但因政策处理问题",
    "一直未能建成使用。今年县政府决定投资1.2亿元，征地140亩，",
    "新建日供水能力10万吨的水厂，计划于2009年底前建成投产。",
    "水厂建成后，将解决城区及周边乡镇约30万人口的饮水问题。",
    "据悉，该项目已列入省重点建设项目，目前前期工作进展顺利。",
]
EN_LINE = "The plant supplies 100,000 tonnes of water per day (2009)."
ZH = "".join(ZH_LINES)


def recall(original: str, found: str) -> float:
    """Share of ``original``'s non-space characters that ``found`` matches, in order."""
    a, b = "".join(original.split()), "".join(found.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(a)


def image_pdf() -> bytes:
    """Two A4 pages without a text layer: the lines as pixels (12 pt), then a blank page."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 34)
    size = (round(8.27 * DPI), round(11.69 * DPI))
    page, blank = Image.new("RGB", size, "white"), Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(ZH_LINES + [EN_LINE]):
        draw.text((150, 200 + 60 * row), line, font=font, fill="black")
    out = io.BytesIO()
    page.save(out, "PDF", resolution=DPI, save_all=True, append_images=[blank])
    return out.getvalue()


def _no_network(*args, **kwargs):
    raise OSError("test_ocr: no network connections allowed")


@pytest.fixture(scope="module")
def pdf() -> bytes:
    if not FONT.exists():
        pytest.skip(f"the CJK font {FONT} is missing (Debian's fonts-wqy-zenhei; make browser)")
    return image_pdf()


@pytest.fixture(scope="module")
def read(pdf):
    """One OCR run over both pages, network refused; its texts, progress calls and time."""
    calls = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(socket, "create_connection", _no_network)
        start = time.perf_counter()
        texts = ocr_pages(pdf, [0, 1], progress=lambda done, total: calls.append((done, total)))
        seconds = time.perf_counter() - start
    print(f"\nOCR of 2 pages (engine load included): {seconds:.2f} s")
    return texts, calls


def test_the_pdf_has_no_text_layer(pdf):
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 2
    assert all(garbled(page.extract_text() or "") for page in pages)


def test_ocr_reads_chinese_with_numbers(read):
    text = read[0][0]
    assert recall(ZH, text) >= 0.95, text
    for number in ("2006年", "140亩", "1.2亿元", "30万"):
        assert number in text, (number, text)
    assert not garbled(text)


def test_ocr_reads_english_and_keeps_line_order(read):
    text = read[0][0]
    assert recall(EN_LINE, text) >= 0.95, text
    lines = text.splitlines()
    assert len(lines) == len(ZH_LINES) + 1, lines
    for line, expected in zip(lines, ZH_LINES + [EN_LINE]):
        assert recall(expected, line) >= 0.9, (expected, line)


def test_blank_page_and_progress(read):
    texts, calls = read
    assert set(texts) == {0, 1}
    assert texts[1] == ""
    assert calls == [(1, 2), (2, 2)]


def test_engine_uses_the_models_in_the_wheel(read):
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    engine = ocr._engine()
    assert engine is ocr._engine()  # created once per process
    for section in (engine.cfg.Det, engine.cfg.Rec):
        assert Path(section.model_path).parent == models and Path(section.model_path).is_file()


def test_bad_page_numbers_and_bad_pdf(pdf, read):
    with pytest.raises(ValueError, match="out of range"):
        ocr_pages(pdf, [2])
    with pytest.raises(ValueError, match="out of range"):
        ocr_pages(pdf, [-1])
    with pytest.raises(DocumentError):
        ocr_pages(b"%PDF-1.4 not really a pdf", [0])
    assert ocr_pages(pdf, []) == {}


def test_missing_library_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # import rapidocr now fails
    with pytest.raises(MissingDependencyError, match="pip install rapidocr"):
        ocr._engine.__wrapped__()


@pytest.mark.parametrize("text", [
    ZH,
    "臺灣的首都是臺北，這裡的人們說國語。",
    EN_LINE,
    "Le café de l'été à Noël coûte 3 €, très cher.",  # accents, under MOJIBAKE_SHARE
    "第 3 页\n\n表1：2006年—2009年用水量（万吨）",
])
def test_clean_text_is_usable(text):
    assert not garbled(text)


@pytest.mark.parametrize("text", [
    "",
    " \n\t \u3000 ",
    "\ue000\ue001\ue002\ue003\ue004\ue005",             # private use (broken font encodings)
    "\U000f0000\U000f0001\U000f0002",                     # supplementary private use
    "\ufffd\ufffd\ufffd 水 \ufffd\ufffd",                 # replacement characters
    "\x01\x02\x03\x04\x05\x06\x07\x08",                   # control characters
    ZH.encode("utf-8").decode("latin-1"),                 # UTF-8 read as Latin-1
    ZH.encode("utf-8").decode("cp1252", errors="replace"),
    ZH.encode("utf-8").decode("latin-1").encode("utf-8").decode("latin-1"),  # Ã¤Â¸Â...
    ZH.encode("gbk").decode("latin-1"),                   # GBK read as Latin-1
])
def test_unusable_text_is_garbled(text):
    assert garbled(text)


def test_mojibake_example_from_the_issue():
    assert garbled("Ã¤Â¸Â­Ã¥â€ºÂ½ Ã¦Â°Â´Ã¥Å½â€š")


@pytest.mark.parametrize("bad", ["\ue000", "\ufffd", "\x07"])
def test_bad_share_threshold(bad):
    n = 100
    under, over = int(BAD_SHARE * n), int(BAD_SHARE * n) + 1
    assert not garbled(bad * under + "水" * (n - under))
    assert garbled(bad * over + "水" * (n - over))


def test_mojibake_share_threshold():
    n = 100
    under, over = int(MOJIBAKE_SHARE * n), int(MOJIBAKE_SHARE * n) + 1
    assert not garbled("é" * under + "e" * (n - under))
    assert garbled("é" * over + "e" * (n - over))

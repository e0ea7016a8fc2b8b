"""OCR of PDF pages whose text layer is missing or unusable (scans, broken font encodings).

:func:`garbled` tells whether a page's extracted text is unusable; :func:`ocr_pages` renders
pages with PDFium (``pypdfium2``) and reads them with RapidOCR's PP-OCR Chinese+English models
on ONNX Runtime. The models ship inside the ``rapidocr`` wheel and are loaded by path, so
nothing is downloaded. Heavy libraries load on first use; the engine once per process.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .errors import DocumentError, MissingDependencyError

__all__ = ["garbled", "ocr_pages"]

log = logging.getLogger(__name__)

# garbled(): shares of a page's non-space characters above which its text is unusable.
BAD_SHARE = 0.25       # private-use, U+FFFD replacement and control characters
MOJIBAKE_SHARE = 0.30  # Latin-1 / cp1252 characters that UTF-8 or GBK bytes decode to
# Rendering: pages at RENDER_DPI, the longer side capped at MAX_SIDE_PX (also the engine's
# own cap: it would shrink a larger image). Detection runs on a copy whose longer side is at
# most DET_SIDE_PX and recognition one line at a time: peak memory ~0.6 GB instead of ~1.2 GB,
# as fast, and 7-point text still read.
RENDER_DPI = 200
MAX_SIDE_PX = 2000
DET_SIDE_PX = 1280
MIN_SCORE = 0.5        # recognised lines scoring lower are dropped

_INSTALL = "OCR of scanned PDFs needs rapidocr and pypdfium2: pip install rapidocr pypdfium2"
_MODELS = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx"}
# What the bytes 0x80-0xFF become when UTF-8 or GBK text is decoded as Latin-1 or cp1252.
_MOJIBAKE = frozenset(
    bytes(range(0x80, 0x100)).decode("latin-1")
    + bytes(b for b in range(0x80, 0x100) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
    .decode("cp1252"))
_SPACE = re.compile(r"\s+")
_LOCK = threading.Lock()  # PDFium is not thread-safe; the engine uses every core anyway


def _bad(char: str) -> bool:
    code = ord(char)
    return (0xE000 <= code <= 0xF8FF or code >= 0xF0000 or char == "\ufffd"
            or unicodedata.category(char) == "Cc")


def garbled(text: str) -> bool:
    """True when a page's extracted text is unusable: empty, or over ``BAD_SHARE`` private-use,
    replacement or control characters, or over ``MOJIBAKE_SHARE`` mojibake (``Ã¤Â¸Â``...)."""
    chars = _SPACE.sub("", text)
    if not chars:
        return True
    bad = sum(map(_bad, chars))
    mojibake = sum(char in _MOJIBAKE for char in chars)
    return bad > BAD_SHARE * len(chars) or mojibake > MOJIBAKE_SHARE * len(chars)


@lru_cache(maxsize=1)
def _engine():
    """The RapidOCR engine on the models in its wheel, loaded by path (so never downloaded)."""
    try:
        import pypdfium2  # noqa: F401
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise MissingDependencyError(_INSTALL) from exc
    models = Path(rapidocr.__file__).parent / "models"
    params = {"Global.log_level": "error", "Global.use_cls": False,  # quiet on blank pages
              "Global.text_score": MIN_SCORE, "Global.max_side_len": MAX_SIDE_PX,
              "Det.limit_type": "max", "Det.limit_side_len": DET_SIDE_PX, "Rec.rec_batch_num": 1}
    for task, name in _MODELS.items():
        if not (models / name).is_file():
            raise MissingDependencyError(f"rapidocr's bundled model {name} is missing; "
                                         f"reinstall it: {_INSTALL}")
        params[f"{task}.model_path"] = str(models / name)
    log.info("loading the OCR models from %s", models)
    return RapidOCR(params=params)


def _lines(result) -> list[str]:
    """Recognised boxes as text lines: rows top to bottom (boxes whose vertical centres lie
    within half a box height), each row's boxes left to right, joined by a space."""
    if result.boxes is None or not result.txts:
        return []
    boxes = [(box[:, 1].min(), box[:, 1].max(), box[:, 0].min(), text)
             for box, text in zip(result.boxes, result.txts) if text.strip()]
    rows: list[list] = []
    for top, bottom, left, text in sorted(boxes):
        centre = (top + bottom) / 2
        row = rows[-1] if rows else None
        if row and abs(centre - row[0]) <= max(row[1], bottom - top) / 2:
            row[2].append((left, text))
        else:
            rows.append([centre, bottom - top, [(left, text)]])
    return [" ".join(text.strip() for _, text in sorted(row[2])) for row in rows]


def ocr_pages(data: bytes, pages: list[int],
              progress: Callable[[int, int], None] | None = None) -> dict[int, str]:
    """OCR the 0-based ``pages`` of the PDF ``data``: ``{page: text}``, lines joined by newlines
    in reading order, ``""`` where nothing was read. ``progress(done, total)`` after each page.

    Raises:
        MissingDependencyError: rapidocr or pypdfium2 is not installed.
        DocumentError: PDFium cannot open the PDF.
        ValueError: a page number is out of range.
    """
    texts: dict[int, str] = {}
    with _LOCK:
        engine = _engine()
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise DocumentError(f"cannot render this PDF for OCR ({exc})") from exc
        try:
            count = len(pdf)
            wrong = [page for page in pages if not 0 <= page < count]
            if wrong:
                raise ValueError(f"pages {wrong} out of range: the PDF has {count} pages")
            for done, number in enumerate(pages, 1):
                page = pdf[number]
                try:
                    scale = min(RENDER_DPI / 72, MAX_SIDE_PX / max(*page.get_size(), 1))
                    image = page.render(scale=scale, may_draw_forms=True).to_pil()
                finally:
                    page.close()
                texts[number] = "\n".join(_lines(engine(image)))
                log.debug("OCR page %d: %d characters", number, len(texts[number]))
                if progress is not None:
                    progress(done, len(pages))
        finally:
            pdf.close()
    return texts

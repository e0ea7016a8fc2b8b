"""The text of a PDF, page by page (pypdf), pages without usable text read by OCR.

A page's text layer is used unless it is unusable (:func:`qa.ocr.garbled`: missing, private-use
or replacement characters, mojibake) or shorter than :data:`MIN_PAGE_CHARS` (a scan with a
printed page number); those pages alone are rendered and read by OCR (:mod:`qa.ocr`), and the
OCR text replaces the layer when it holds more characters. The document's notes name the pages
read by OCR and those that stayed unreadable; with OCR off (``QA_OCR=0``) such pages are left
out and named unreadable.

Pages that draw rules are searched for ruled tables (:mod:`qa.pdftables`).
"""

from __future__ import annotations

import io
import logging
import re

from .documents import _clean, _too_much_text
from .errors import DocumentError, MissingDependencyError
from .limits import MAX_PDF_PAGES, MAX_TEXT_CHARS
from .pdftables import ruled, table_pages

log = logging.getLogger(__name__)

NOTES = ("ocr_pages", "unreadable_pages")
"""The notes a PDF's document may carry (in the manifest's document entries)."""
MIN_PAGE_CHARS = 10
"""A page whose text layer holds fewer non-space characters is tried with OCR."""
_SPACE = re.compile(r"\s+")


def pdf_text(data: bytes, name: str, ocr: bool = True) -> tuple[str, tuple, dict]:
    """The pages' text, blank-line separated, a ``{"page": n}`` mark where each starts, and
    notes (``ocr_pages``, ``unreadable_pages``: page numbers from 1, when any).

    Raises:
        DocumentError: encrypted, broken, over ``MAX_PDF_PAGES`` pages or too much text.
        MissingDependencyError: pypdf (or, for pages that need it, the OCR) is missing.
    """
    pages = _layers(data, name)
    from .ocr import garbled

    unusable = {i for i, text in enumerate(pages) if garbled(text)}
    short = {i for i, text in enumerate(pages) if len(_SPACE.sub("", text)) < MIN_PAGE_CHARS}
    read, unreadable = [], []
    if ocr and unusable | short:
        found = _ocr(data, name, sorted(unusable | short))
        for i in sorted(unusable | short):
            text = _clean(found.get(i, ""))
            if len(_SPACE.sub("", text)) > len(_SPACE.sub("", "" if i in unusable else pages[i])):
                pages[i] = text
                read.append(i + 1)
            elif i in unusable:
                pages[i] = ""
                unreadable.append(i + 1)
    else:
        unreadable = [i + 1 for i in sorted(unusable)]
        for i in unusable:
            pages[i] = ""
    places, size = [], 0
    for number, text in enumerate(pages, 1):
        places.append((size, {"page": number}))
        size += len(text) + 2
    if size > MAX_TEXT_CHARS:
        raise _too_much_text(name)
    notes = {key: value for key, value in zip(NOTES, (read, unreadable)) if value}
    if notes:
        log.info("%s: %s", name, ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in notes.items()))
    return "\n\n".join(pages), tuple(places), notes


def pages_note(doc: dict) -> str:
    """``pages 2, 3 read by OCR; page 5 unreadable`` for a manifest document entry."""
    def pages(numbers) -> str:
        return ("page " if len(numbers) == 1 else "pages ") + ", ".join(map(str, numbers))
    parts = []
    if doc.get("ocr_pages"):
        parts.append(f"{pages(doc['ocr_pages'])} read by OCR")
    if doc.get("unreadable_pages"):
        parts.append(f"{pages(doc['unreadable_pages'])} without readable text")
    return "; ".join(parts)


def _ocr(data: bytes, name: str, pages: list[int]) -> dict[int, str]:
    """OCR of ``pages`` (from 0), progress logged; ``{}`` when PDFium cannot open the file."""
    from .ocr import ocr_pages

    log.info("%s: reading %d page(s) without usable text by OCR", name, len(pages))

    def progress(done: int, total: int) -> None:
        log.info("%s: OCR %d of %d pages", name, done, total)

    try:
        return ocr_pages(data, pages, progress=progress)
    except DocumentError as exc:
        log.warning("%s: OCR cannot open this PDF: %s", name, exc)
        return {}


def _layers(data: bytes, name: str) -> list[str]:
    """Each page's text layer, cleaned (``""`` for a page without one)."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:
        raise MissingDependencyError("reading PDF needs pypdf: pip install pypdf") from exc
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: the PDF is encrypted; save an unprotected copy")
        _check_pages(reader, name)
        pages, drawn, size = [], [], 0
        for index, page in enumerate(reader.pages):
            pages.append(_clean(page.extract_text() or ""))
            size += len(pages[-1]) + 2
            if size > MAX_TEXT_CHARS:
                raise _too_much_text(name)
            if pages[-1].strip() and ruled(page, name, index):
                drawn.append(index)
        count = len(pages)
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"{name}: cannot read this PDF ({exc})") from exc
    except Exception as exc:  # pypdf raises many types on broken files
        raise DocumentError(f"{name}: cannot read this PDF ({type(exc).__name__}: {exc})") from exc
    if drawn:
        for index, text in table_pages(data, name, drawn, pages, count).items():
            size += len(text) - len(pages[index])
            pages[index] = text
        if size > MAX_TEXT_CHARS:
            raise _too_much_text(name)
    return pages


def _check_pages(reader, name: str) -> None:
    """Refuse more than ``MAX_PDF_PAGES`` pages: by the page tree's own count first (cheap),
    then by the pages found walking the tree (the count may lie)."""
    try:
        count = int(reader.root_object["/Pages"]["/Count"])
    except Exception:  # no usable count: walk the tree
        count = 0
    if count <= MAX_PDF_PAGES:
        count = len(reader.pages)
    if count > MAX_PDF_PAGES:
        raise DocumentError(f"{name}: {count:,} pages, over the {MAX_PDF_PAGES:,}-page limit; "
                            "split the PDF")

"""Reading documents: txt, md, html, pdf, docx, xlsx, csv and pptx files into plain text.

Text files (and CSV) are decoded by their byte-order mark (UTF-8, UTF-16, UTF-32), else as
strict UTF-8, else by ``charset_normalizer`` restricted to the encodings users of this project
have (GB18030/GBK, Big5, UTF-16). HTML keeps only visible text. Headings found in Markdown, HTML,
DOCX, spreadsheets (a sheet's name) and slides (a slide's title) are written as Markdown heading
lines (``# title``, ``## section``), and tables, whatever the format (Markdown pipe tables
included), as rows that carry their header (:mod:`qa.tables`), so that the chunker sees one
format. Offsets of passages and place marks (:attr:`Document.places`) refer to
:attr:`Document.text`.

The work one file may cause is bounded by :mod:`qa.limits`: files over ``MAX_FILE_BYTES``,
DOCX/XLSX/PPTX unpacking to more than ``MAX_DECOMPRESSED_BYTES`` (or zip bombs), PDFs over
``MAX_PDF_PAGES``, spreadsheets over ``MAX_SHEET_CELLS``, HTML nested deeper than
``MAX_HTML_DEPTH`` and text over ``MAX_TEXT_CHARS`` characters are refused with a
:class:`~qa.errors.DocumentError` naming the file and the limit. HTML and DOCX are read in one
pass (:mod:`qa.htmltext`, :mod:`qa.docxtext`), spreadsheets and slides by :mod:`qa.officetext`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from .docxtext import docx_text
from .errors import DocumentError
from .htmltext import html_to_text
from .limits import MAX_FILE_BYTES, MAX_TEXT_CHARS
from .tables import Table

__all__ = ["READER_VERSION", "SUPPORTED_SUFFIXES", "Document", "decode_bytes", "find_documents",
           "html_to_text", "markdown_tables", "parse_bytes", "read_document"]

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".xlsx",
                      ".csv", ".pptx")
_CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "big5", "utf_16", "cp1252"]
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


READER_VERSION = 4
"""Raised when a reader's output changes (2: PDF pages; 3: tables as rows with their header,
xlsx/csv/pptx; 4: PDF tables), so that documents read by an older one are read again (their unchanged
passages keep their vectors)."""


@dataclass(frozen=True)
class Document:
    """A document's text. ``source`` is the path as given; ``encoding`` what decoded it;
    ``places`` the reader's place marks in ``text`` (:mod:`qa.places`: PDF pages...);
    ``blocks``: blank lines separate its paragraphs (every format but plain text); ``notes``
    what the user should know (``ocr_pages``, ``unreadable_pages``: PDF pages, from 1)."""

    source: str
    text: str
    encoding: str
    places: tuple = ()
    blocks: bool = False
    notes: dict = field(default_factory=dict)


def decode_bytes(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    """Decode ``data`` to text, detecting the encoding.

    Returns:
        ``(text, encoding)``.
    Raises:
        DocumentError: the bytes look binary or fit none of the supported encodings.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise DocumentError(f"{name}: broken {encoding} text ({exc.reason})") from exc
    if b"\x00" in data[:4096]:
        guess = _utf16_without_bom(data)
        if guess is None:
            raise DocumentError(f"{name}: looks like a binary file, not text")
        return guess
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        repaired = data.decode("utf-8", errors="replace")
        if repaired.count("\ufffd") * 1000 < len(repaired):  # a few broken bytes in UTF-8
            return repaired, "utf-8 (invalid bytes replaced)"
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_CANDIDATE_ENCODINGS).best()
    if best is None:
        raise DocumentError(
            f"{name}: not valid UTF-8, GB18030/GBK, Big5 or UTF-16 text; save it as UTF-8"
        )
    return str(best), best.encoding


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 text without a BOM has its zero bytes all on one side of each code unit."""
    head = data[: 1 << 16]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if len(data) % 2 or min(even, odd) * 4 > max(even, odd):
        return None
    encoding = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return (text, encoding) if not _CONTROL.search(text[:20000]) else None


def _too_much_text(name: str, size: int | None = None) -> DocumentError:
    amount = f"{size:,} characters of text" if size is not None else \
        f"more than {MAX_TEXT_CHARS:,} characters of text"
    return DocumentError(f"{name}: {amount}, over the {MAX_TEXT_CHARS:,}-character limit; "
                         "split it into smaller files")


def _clean(text: str) -> str:
    """Line ends as ``\n``, control characters dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _check_text(text: str, name: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise _too_much_text(name, len(text))
    if len(_CONTROL.findall(text[:20000])) > max(8, len(text[:20000]) // 100):
        raise DocumentError(f"{name}: looks like a binary file, not text")
    text = _clean(text)
    if not text.strip():
        raise DocumentError(f"{name}: the document has no text")
    return text


def parse_bytes(data: bytes, name: str, ocr: bool = True) -> Document:
    """Turn a file's bytes into a :class:`Document`, choosing the reader by ``name``'s suffix
    (``ocr``: PDF pages without usable text are read by OCR, :mod:`qa.pdftext`).

    Raises:
        DocumentError: unsupported suffix, binary, undecodable, broken, empty, or over a limit
            of :mod:`qa.limits` (the message names the file and the limit).
        MissingDependencyError: the PDF, DOCX, XLSX or PPTX reader is not installed.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{name}: unsupported file type {suffix or '(none)'}; use one of "
            + ", ".join(SUPPORTED_SUFFIXES)
        )
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(
            f"{name}: {len(data) / 1e6:.0f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit"
        )
    if not data.strip():
        raise DocumentError(f"{name}: the file is empty")
    places: tuple = ()
    notes: dict = {}
    if suffix == ".pdf":
        from .pdftext import pdf_text  # it reads this module's _clean

        (text, places, notes), encoding = pdf_text(data, name, ocr), "pdf"
    elif suffix == ".docx":
        text, encoding = docx_text(data, name), "docx"
    elif suffix in (".xlsx", ".pptx"):
        from . import officetext  # it reads this module's _clean

        read = officetext.xlsx_text if suffix == ".xlsx" else officetext.pptx_text
        (text, places), encoding = read(data, name), suffix[1:]
    else:
        text, encoding = decode_bytes(data, name)
        if suffix in (".html", ".htm"):
            text = html_to_text(text, name)
        elif suffix in (".md", ".markdown"):
            text = markdown_tables(text)
        elif suffix == ".csv":
            from .officetext import csv_text

            text, places = csv_text(text, name)
    return Document(source=name, text=_check_text(text, name), encoding=encoding, places=places,
                    blocks=suffix not in (".txt", ""), notes=notes)


_PIPE = re.compile(r"(?<!\\)\|")
_DELIMITER_ROW = re.compile(r" {0,3}\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_LINE_END = re.compile(r"\r\n|\r|\n")


def markdown_tables(text: str) -> str:
    """``text`` with its GitHub pipe tables (a header row, a delimiter row such as
    ``|---|:--:|``, rows up to a blank line or a line without ``|``; not in fenced code) as
    blocks of rows in the format of :mod:`qa.tables`; unchanged when it has none."""
    lines, out, index, fence, found = _LINE_END.split(text), [], 0, None, False
    while index < len(lines):
        line = lines[index]
        opened = _FENCE.match(line)
        if fence is not None or opened:
            if fence is None:
                fence = opened.group(1)
            elif line.strip().startswith(fence[0] * len(fence)) and \
                    not line.strip().strip(fence[0]):
                fence = None
            out.append(line)
            index += 1
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        header = _pipe_cells(line) if "|" in line and "|" in following else None
        if header is None or not _DELIMITER_ROW.fullmatch(following) or \
                len(header) != len(_pipe_cells(following)):
            out.append(line)
            index += 1
            continue
        table, rows, index = Table(), [], index + 2
        table.add(header, header=True)
        while index < len(lines) and lines[index].strip() and "|" in lines[index]:
            rows += table.add(_pipe_cells(lines[index])[:len(header)])
            index += 1
        rows += table.finish()
        if out and out[-1].strip():
            out.append("")
        out += [row for _, row in rows] + [""]
        found = True
    return "\n".join(out) if found else text


def _pipe_cells(line: str) -> list[str]:
    """The cells of a pipe table row: split at unescaped ``|``, outer pipes dropped."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _PIPE.split(line)]


def read_document(path: str | Path) -> Document:
    """Read the file at ``path``.

    Raises:
        DocumentError: as :func:`parse_bytes`, or the file cannot be opened.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(
                f"{path}: {size / 1e6:.0f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    return parse_bytes(data, str(path))


def find_documents(paths: list[str | Path]) -> list[Path]:
    """Supported files under ``paths`` (files or folders, recursively), sorted, hidden skipped."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.append(child)
        elif path.is_file():
            found.append(path)
        else:
            raise DocumentError(f"{path}: no such file or folder")
    return found

"""Reading documents: txt, md, html, pdf and docx files into plain text.

Text files are decoded by their byte-order mark (UTF-8, UTF-16, UTF-32), else as strict UTF-8,
else by ``charset_normalizer`` restricted to the encodings users of this project have
(GB18030/GBK, Big5, UTF-16). HTML keeps only visible text. Headings found in Markdown, HTML and
DOCX are written as Markdown heading lines (``# title``, ``## section``) so that the chunker
sees one format. Offsets of passages refer to :attr:`Document.text`.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DocumentError, MissingDependencyError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
MAX_FILE_BYTES = 50 * 1024 * 1024
_CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "big5", "utf_16", "cp1252"]
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Document:
    """A document's text. ``source`` is the path as given; ``encoding`` what decoded it."""

    source: str
    text: str
    encoding: str


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


def _check_text(text: str, name: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(_CONTROL.findall(text[:20000])) > max(8, len(text[:20000]) // 100):
        raise DocumentError(f"{name}: looks like a binary file, not text")
    text = _CONTROL.sub("", text)
    if not text.strip():
        raise DocumentError(f"{name}: the document has no text")
    return text


def html_to_text(html: str) -> str:
    """Visible text of an HTML page; ``<title>``/``<h1>`` become ``#`` lines, ``<h2-6>`` ``##``."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        if hidden.name == "head":
            title = hidden.find("title")
            if title and title.get_text(strip=True) and not soup.find("h1"):
                soup.insert(0, _heading(soup, "h1", title.get_text(" ", strip=True)))
        hidden.decompose()
    blocks = []
    for element in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre",
                                  "blockquote", "figcaption", "div", "section", "article", "body"]):
        if element.find(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre", "div",
                         "blockquote", "section", "article", "figcaption"]):
            continue  # a container: its children are taken one by one
        text = " ".join(element.get_text(" ", strip=True).split())
        if not text:
            continue
        if element.name in ("h1",):
            text = "# " + text
        elif element.name in ("h2", "h3", "h4", "h5", "h6"):
            text = "## " + text
        blocks.append(text)
    return "\n\n".join(blocks)


def _heading(soup, name: str, text: str):
    tag = soup.new_tag(name)
    tag.string = text
    return tag


def _pdf_text(data: bytes, name: str) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:
        raise MissingDependencyError("reading PDF needs pypdf: pip install pypdf") from exc
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: the PDF is encrypted; save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"{name}: cannot read this PDF ({exc})") from exc
    except Exception as exc:  # pypdf raises many types on broken files
        raise DocumentError(f"{name}: cannot read this PDF ({type(exc).__name__}: {exc})") from exc
    return "\n\n".join(pages)


def _docx_text(data: bytes, name: str) -> str:
    try:
        import docx
    except ImportError as exc:
        raise MissingDependencyError("reading DOCX needs python-docx: pip install python-docx") from exc
    import zipfile

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{name}: not a valid .docx file ({exc})") from exc
    except Exception as exc:
        raise DocumentError(f"{name}: cannot read this .docx ({type(exc).__name__}: {exc})") from exc
    blocks = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
        if style == "title" or style == "heading 1":
            text = "# " + text
        elif style.startswith("heading"):
            text = "## " + text
        blocks.append(text)
    return "\n\n".join(blocks)


def parse_bytes(data: bytes, name: str) -> Document:
    """Turn a file's bytes into a :class:`Document`, choosing the reader by ``name``'s suffix.

    Raises:
        DocumentError: unsupported suffix, too large, binary, undecodable, broken or empty.
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
    if suffix == ".pdf":
        text, encoding = _pdf_text(data, name), "pdf"
    elif suffix == ".docx":
        text, encoding = _docx_text(data, name), "docx"
    else:
        text, encoding = decode_bytes(data, name)
        if suffix in (".html", ".htm"):
            text = html_to_text(text)
    return Document(source=name, text=_check_text(text, name), encoding=encoding)


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

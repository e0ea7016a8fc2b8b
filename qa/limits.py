"""Every limit on the work one document, upload or question may cause, in one place.

Each is enforced where the work happens and refused with a message that names the limit; the
figures leave room for real documents (a 1,000-page report, a 20 MB novel) while keeping one
request's cost to seconds. :func:`check_zip` enforces the two zip limits for every Office
format.
"""

from __future__ import annotations

import zipfile

from .errors import DocumentError

MAX_FILE_BYTES = 50 * 2**20  # any document read from disk
MAX_UPLOAD_BYTES = 20 * 2**20  # one uploaded file (also the page's own limit, before Python)
MAX_FILES_PER_UPLOAD = 10
MAX_UPLOADED_DOCUMENTS = 200  # shared uploads, and each user's private ones
MAX_DECOMPRESSED_BYTES = 100 * 2**20  # the unpacked parts of a DOCX, XLSX or PPTX (a zip)
MAX_COMPRESSION_RATIO = 200  # a part packed tighter is a zip bomb (Office's XML: 5-20:1)
ZIP_RATIO_FROM_BYTES = 2**20  # ... among parts of at least this size
MAX_PDF_PAGES = 2_000
MAX_SHEET_CELLS = 2_000_000  # cells read from one XLSX (all its sheets) or CSV, empty ones too
MAX_HTML_DEPTH = 512  # nesting of HTML elements (browsers stop at about the same)
MAX_TEXT_CHARS = 20_000_000  # characters of one document's text
MAX_PASSAGES_PER_DOCUMENT = 50_000
MAX_TITLE_CHARS = 200  # a title or section heading, carried by each of its passages
MAX_API_BODY_BYTES = 64 * 2**10  # one JSON API request's body
MAX_API_UPLOAD_BYTES = MAX_FILES_PER_UPLOAD * MAX_UPLOAD_BYTES + MAX_API_BODY_BYTES  # one upload's body
PARSE_SECONDS = 120  # an upload's parsing worker is stopped after this long ...
OCR_SECONDS_PER_MB = 60  # ... plus this per MB of PDF (scanned pages are read by OCR)
PARSE_MEMORY_BYTES = 2 * 2**30  # ... or when its address space grows past this
MAX_HISTORY_TURNS = 8  # earlier questions a follow-up may be read with


def check_zip(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse a zip (DOCX, XLSX, PPTX) before unpacking it: more than
    ``MAX_DECOMPRESSED_BYTES`` in all, or a part of at least 1 MB packed more than
    ``MAX_COMPRESSION_RATIO`` times smaller (a zip bomb). The sizes are the directory's; the
    zip module stops reading a part at its stated size.

    Raises:
        DocumentError: naming ``name`` and the limit.
    """
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_DECOMPRESSED_BYTES:
        raise DocumentError(f"{name}: unpacks to {total / 2**20:,.0f} MB, over the "
                            f"{MAX_DECOMPRESSED_BYTES // 2**20} MB limit")
    for info in archive.infolist():
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= ZIP_RATIO_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise DocumentError(f"{name}: {info.filename} unpacks {ratio:,.0f} times its packed "
                                f"size, over the {MAX_COMPRESSION_RATIO}:1 limit (a zip bomb?)")

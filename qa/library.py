"""The chat's document library: the seed folder plus a folder of uploaded files.

Uploads are checked (type, size, readable text) before anything is written; accepted files
are written under the uploads folder with a safe name (no folders, no hidden names) via a
temporary file and a rename, then the index is rebuilt incrementally. A refused file leaves
the documents and the index exactly as they were.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .documents import parse_bytes
from .errors import DocumentError
from .indexer import build_from_files, source_name

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_FILES_PER_UPLOAD = 10
MAX_DOCUMENTS = 200


@dataclass(frozen=True)
class DocumentInfo:
    """A document in the library: its name as shown in answers, passages, removable or not."""

    source: str
    passages: int
    removable: bool


def safe_name(name: str) -> str:
    """A file name that cannot leave the uploads folder.

    Raises:
        DocumentError: nothing usable is left of ``name``.
    """
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", str(name))[-1]).strip()
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    base = base.lstrip(".").strip()
    if not base or base in (".", ".."):
        raise DocumentError(f"{name!r} is not a usable file name")
    return base[:150]


class Library:
    """Documents the chat answers from and the retriever over them.

    Args:
        retriever: a :class:`~qa.retriever.Retriever` whose documents are
            ``[seeds folder, uploads folder]``.
        uploads: the folder uploads are written to (created when missing).
    """

    def __init__(self, retriever, uploads: Path):
        self.retriever = retriever
        self.uploads = Path(uploads)
        self.uploads.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def documents(self) -> list[DocumentInfo]:
        """The indexed documents, in index order."""
        uploads = source_name(self.uploads)
        return [DocumentInfo(d["source"], d["passages"], d["source"].startswith(uploads + os.sep))
                for d in self.retriever.index.manifest.get("documents", [])]

    def add(self, files: list[tuple[str, bytes]]) -> list[str]:
        """Check, store and index ``(file name, content)`` pairs.

        Returns:
            The stored file names.
        Raises:
            DocumentError: too many files, a file too large, unsupported, unreadable or empty;
                nothing is stored or indexed then.
        """
        if not files:
            raise DocumentError("no file was given")
        if len(files) > MAX_FILES_PER_UPLOAD:
            raise DocumentError(f"at most {MAX_FILES_PER_UPLOAD} files at a time, got {len(files)}")
        checked = []
        for name, data in files:
            clean = safe_name(name)
            if len(data) > MAX_UPLOAD_BYTES:
                raise DocumentError(f"{clean}: {len(data) / 1e6:.1f} MB is over the "
                                    f"{MAX_UPLOAD_BYTES // 2**20} MB upload limit")
            document = parse_bytes(data, clean)
            if not document.text.strip():
                raise DocumentError(f"{clean}: no text found")
            checked.append((clean, data))
        with self._lock:
            present = {p.name for p in self.uploads.iterdir() if p.is_file()}
            if len(present | {c for c, _ in checked}) > MAX_DOCUMENTS:
                raise DocumentError(f"the library holds at most {MAX_DOCUMENTS} uploaded documents")
            backups = {c: (self.uploads / c).read_bytes() for c, _ in checked if c in present}
            written = [self._write(clean, data) for clean, data in checked]
            try:
                self._rebuild()
            except Exception:
                for path in written:  # leave the library as it was
                    if path.name in backups:
                        path.write_bytes(backups[path.name])
                    else:
                        path.unlink(missing_ok=True)
                raise
        return [p.name for p in written]

    def remove(self, source: str) -> None:
        """Remove an uploaded document (seed documents cannot be removed).

        Raises:
            DocumentError: ``source`` is not an uploaded document.
        """
        with self._lock:
            match = next((d for d in self.documents() if d.source == source), None)
            if match is None or not match.removable:
                raise DocumentError(f"{source} is not an uploaded document")
            path = self.uploads / Path(source).name
            data = path.read_bytes()
            path.unlink()
            try:
                self._rebuild()
            except Exception:
                path.write_bytes(data)
                raise

    def _write(self, name: str, data: bytes) -> Path:
        target = self.uploads / name
        handle, temporary = tempfile.mkstemp(prefix=".upload-", dir=self.uploads)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
        return target

    def _rebuild(self) -> None:
        retriever = self.retriever
        build_from_files(retriever.documents, retriever.store, retriever.encoder,
                         retriever.config, progress=True)
        retriever.reload()

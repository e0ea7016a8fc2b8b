"""What an index is built from: files and folders, or a file of ready-made passages.

A source has a ``fingerprint()`` (the content hash an index records; a different one means
the index is stale) and ``read(store, config, parsed)`` (its passages, the manifest's extra
fields and that fingerprint). :func:`qa.indexer.build` turns either into an index.

- :class:`FileSource`: documents under files and folders. A file is named in results by its
  folder and its path inside it (``seeds/a.txt``, ``uploads/b.pdf``), never absolutely.
  Reading is incremental: a file whose name and sha256 are those of a document in the live
  version keeps its passages (and so its vectors).
- :class:`PassageFile`: one passage per JSON line (``id``, ``text``, optional ``title``), as
  given, no re-chunking: benchmark corpora (``qa eval``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from .documents import READER_VERSION, find_documents, parse_bytes
from .pdftext import NOTES
from .errors import DocumentError, QAError
from .indexer import IndexConfig, document_records
from .limits import MAX_FILE_BYTES
from .passage import Record
from .store import IndexStore
from .upload_names import owner_of

log = logging.getLogger(__name__)


def folder_labels(paths: list[str | Path]) -> dict[Path, str]:
    """The name each of ``paths`` gives its files in results: the folder's (or file's) own
    name, with ``-2``, ``-3``… where two would be the same."""
    labels: dict[Path, str] = {}
    for path in map(Path, paths):
        base = path.resolve().name or "documents"
        label, number = base, 2
        while label in labels.values():
            label, number = f"{base}-{number}", number + 1
        labels[path] = label
    return labels


def library_files(paths: list[str | Path]) -> list[tuple[Path, str]]:
    """Every supported file under ``paths`` with its name in results, sorted by name."""
    files = []
    for path, label in folder_labels(paths).items():
        for found in find_documents([path]):
            inside = found.relative_to(path).as_posix() if path.is_dir() else ""
            files.append((found, f"{label}/{inside}" if inside else label))
    return sorted(files, key=lambda item: item[1])


def read_file(path: Path) -> bytes:
    """The bytes of a document file.

    Raises:
        DocumentError: over :data:`~qa.limits.MAX_FILE_BYTES`, or unreadable.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(f"{path}: {size / 1e6:.0f} MB is over the "
                                f"{MAX_FILE_BYTES // 2**20} MB limit")
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


class FileSource:
    """The supported documents under files and folders ``paths``."""

    def __init__(self, paths: list[str | Path]):
        self.paths = [Path(p) for p in paths]

    def __str__(self) -> str:
        return ", ".join(map(str, self.paths))

    def fingerprint(self) -> str:
        """Every file's name and sha256, and the readers' version, hashed."""
        digest = hashlib.sha256(f"readers {READER_VERSION}\0".encode())
        for path, name in library_files(self.paths):
            try:
                data = read_file(path)
            except DocumentError:  # skipped by read() too
                continue
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()

    def changed_files(self, store: IndexStore, config: IndexConfig) -> list[tuple[Path, str]]:
        """The files (path, name) :meth:`read` would read: new or changed since the live
        version of ``store`` (unreadable ones included: reading them reports why)."""
        known = _previous_documents(store, config)
        changed = []
        for path, name in library_files(self.paths):
            previous = known.get(name)
            try:
                if previous is not None and \
                        previous.sha256 == hashlib.sha256(read_file(path)).hexdigest():
                    continue
            except DocumentError:
                pass
            changed.append((path, name))
        return changed

    def read(self, store: IndexStore, config: IndexConfig,
             parsed: dict | None = None) -> tuple[list[Record], dict, str]:
        """The passages of every file, reading only files that changed since the live version
        of ``store`` (or are in ``parsed``, ``{name: Parsed}``, when their sha256 matches).

        A file that cannot be read is skipped and reported (a warning, and ``skipped`` in the
        manifest: ``{name: reason}``); a file with the same bytes as one before it (by name)
        is indexed once (``duplicates``: ``{name: the file indexed}``), except that files in
        a user's private folder (``users/<name>/``, :func:`qa.upload_names.owner_of`) only
        count as copies of others in the same folder: each user keeps their own.
        """
        known = _previous_documents(store, config)
        known.update(parsed or {})
        records, documents, read = [], [], 0
        corpus = hashlib.sha256(f"readers {READER_VERSION}\0".encode())
        skipped, duplicates, holders = {}, {}, {}
        for path, name in library_files(self.paths):
            try:
                data = read_file(path)
            except DocumentError as exc:
                skipped[name] = _skip(name, exc)
                continue
            digest = hashlib.sha256(data).digest()
            corpus.update(name.encode() + b"\0" + digest)
            copy = (digest, owner_of(name.partition("/")[2]))
            if copy in holders:
                duplicates[name] = holders[copy]
                log.info("%s: the same content as %s, indexed once", name, holders[copy])
                continue
            previous = known.get(name)
            if previous is not None and previous.sha256 == digest.hex():
                doc_records, encoding = list(previous.records), previous.encoding
                notes = dict(previous.notes)
            else:
                try:
                    document = parse_bytes(data, name, ocr=config.ocr)
                    doc_records = document_records(document, name, config)
                except DocumentError as exc:
                    skipped[name] = _skip(name, exc)
                    continue
                encoding, notes = document.encoding, document.notes
                read += 1
            holders[copy] = name
            records.extend(doc_records)
            documents.append({"source": name, "encoding": encoding, "passages": len(doc_records),
                              "sha256": digest.hex(), "reader": READER_VERSION, **notes})
        log.info("read %d of %d documents (the others are unchanged since the last build)", read,
                 len(documents))
        extra = {"documents": documents, "sources": [str(p.resolve()) for p in self.paths],
                 "skipped": skipped, "duplicates": duplicates}
        return records, extra, corpus.hexdigest()


class PassageFile:
    """Passages one per JSON line (``id``, ``text``, ``title``), indexed as given; titles are
    kept when ``config.titles`` (they are embedded with the text)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def fingerprint(self) -> str:
        """The file's sha256."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def read(self, store: IndexStore, config: IndexConfig,
             parsed: dict | None = None) -> tuple[list[Record], dict, str]:
        """The passages of the file.

        Raises:
            QAError: a line is not JSON.
        """
        records = [Record(id=str(row["id"]), text=row["text"], source=self.path.name,
                          title=row.get("title", "") if config.titles else "")
                   for row in read_jsonl(self.path)]
        return records, {}, self.fingerprint()


def _skip(name: str, error: DocumentError) -> str:
    """Log that ``name`` is skipped and why; the reason."""
    log.warning("skipped %s: %s", name, error)
    return str(error)


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file.

    Raises:
        QAError: a line is not JSON.
    """
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise QAError(f"{path}:{number}: not JSON ({exc})") from exc
    return rows


def _previous_documents(store: IndexStore, config: IndexConfig) -> dict:
    """``{name: Parsed}`` of the live version's documents when it has ``config``'s shape and
    its passages file is intact; ``{}`` otherwise."""
    from .parse_worker import Parsed

    manifest = store.read_manifest_raw()
    documents = manifest.get("documents") or []
    documents = [d for d in documents if d.get("reader") == READER_VERSION]
    if not config.shapes(manifest.get("config")) or not all("sha256" in d for d in documents):
        return {}
    records = store.intact_records()
    if records is None:
        return {}
    by_source: dict[str, list[Record]] = {}
    for record in records:
        by_source.setdefault(record.source, []).append(record)
    return {d["source"]: Parsed(d["sha256"], d["encoding"], tuple(by_source.get(d["source"], ())),
                                {k: d[k] for k in NOTES if k in d})
            for d in documents if len(by_source.get(d["source"], ())) == d["passages"]}

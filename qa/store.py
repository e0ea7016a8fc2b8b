"""The index folder: atomic writes, a manifest checked on load, no pickle.

Layout of ``embeddings/<name>/``::

    CURRENT               name of the live version folder (replaced atomically)
    .lock                 held while a build writes
    v-<time>-<rand>/      one complete version
        manifest.json     format, model, prompts, chunking, corpus hash, counts, file sha256s
        passages.jsonl    one :class:`~qa.passage.Record` per line, in index row order
        dense.faiss       FAISS inner-product index (row i = passages.jsonl line i)
        scripts.npy       int8 script of each passage (0 CJK, 1 Latin)
        sentence_vectors.npy  vector of every sentence of every passage (fp32; fp16 compact)
        sentences.npy     int32 (owner passage row, start, end) per sentence vector
        background.npy    vectors of qa/background.json, the baseline of relevance
        keyword/          bm25s arrays (.npy) and vocabulary (JSON)

A version folder is written completely, then ``CURRENT`` is swapped with ``os.replace``, so a
crash at any moment leaves the previous version live. Loading checks the row counts and every
file's sha256 against the manifest; files over :data:`HASH_LIMIT` bytes (large corpora) are
checked by size, so that loading stays fast. Passages are parsed from ``passages.jsonl`` when
read (:class:`qa.passage.RecordFile`) and sentence vectors are memory-mapped: a large index costs memory
for what its questions touch.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dense import DenseIndex
from .errors import IndexCorruptError
from .fileio import fsync_tree, publish_file
from .lexical import KeywordIndex
from .passage import Record, RecordFile, file_sha256
from .text import SCRIPT_CODES

FORMAT_VERSION = 4
HASH_LIMIT = 256 << 20
_DATA_FILES = ("passages.jsonl", "dense.faiss", "scripts.npy", "sentence_vectors.npy",
               "sentences.npy", "background.npy")


@dataclass
class LoadedIndex:
    """An index in memory: manifest, passages, and both searchable parts."""

    folder: Path
    manifest: dict
    records: list[Record]
    dense: DenseIndex
    keyword: KeywordIndex
    sentences: np.ndarray
    sentence_spans: np.ndarray
    background: np.ndarray
    scripts: np.ndarray

    @functools.cached_property
    def rows_by_source(self) -> dict[str, np.ndarray]:
        """``{document: its rows}`` (in index order), for filters by document."""
        rows: dict[str, list[int]] = {}
        for row, record in enumerate(self.records):
            rows.setdefault(record.source, []).append(row)
        return {source: np.array(found, dtype=np.int64) for source, found in rows.items()}


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of each data file (``bytes:<size>`` for files over :data:`HASH_LIMIT`)."""
    files = [folder / name for name in _DATA_FILES]
    files += sorted((folder / "keyword").iterdir())
    return {str(p.relative_to(folder)): _digest(p) for p in files}


class IndexStore:
    """Reads and writes the versions of one index folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @property
    def lock_path(self) -> Path:
        return self.folder / ".lock"

    def current(self) -> Path | None:
        """The live version folder, or ``None`` when nothing was built yet."""
        pointer = self.folder / "CURRENT"
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexCorruptError(f"{pointer}: unreadable ({exc}); rebuild with `qa build`") from exc
        if not name.startswith("v-") or "/" in name or not (self.folder / name).is_dir():
            raise IndexCorruptError(
                f"{pointer} names {name!r}, which is not a version folder; rebuild with `qa build`"
            )
        return self.folder / name

    def read_manifest_raw(self) -> dict:
        """The live manifest as stored, without any check (``{}`` when unreadable)."""
        try:
            version = self.current()
            return json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        except (IndexCorruptError, OSError, ValueError, TypeError):
            return {}

    def read_manifest(self) -> dict | None:
        """The live manifest, ``None`` when there is no index.

        Raises:
            IndexCorruptError: the manifest is missing or not JSON.
        """
        version = self.current()
        if version is None:
            return None
        try:
            manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(
                f"{version}/manifest.json is missing or damaged ({exc}); rebuild with `qa build`"
            ) from exc
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexCorruptError(
                f"{version}: index format {manifest.get('format_version')} is not "
                f"{FORMAT_VERSION}; rebuild with `qa build`"
            )
        return manifest

    def salvage(self, transform=None) -> dict[str, np.ndarray]:
        """Vectors by content hash from whatever files of the live version are intact (passage
        and sentence vectors), even when the version as a whole cannot be loaded (another
        format version, a damaged file). Used to avoid re-embedding; ``{}`` when nothing is.
        ``transform`` is what the build applied to sentence text before embedding."""
        from .passage import content_hash

        known: dict[str, np.ndarray] = {}
        try:
            version = self.current()
            files = self.read_manifest_raw()["files"]

            def intact(*names):
                return all((version / n).is_file() and _digest(version / n) == files.get(n)
                           for n in names)

            if not intact("passages.jsonl"):
                return known
            records = RecordFile(version / "passages.jsonl")
            if intact("dense.faiss"):
                vectors = DenseIndex.load(version / "dense.faiss").vectors()
                if len(vectors) == len(records):
                    known.update(zip((r.hash for r in records), vectors))
            if intact("sentence_vectors.npy", "sentences.npy"):
                spans = np.load(version / "sentences.npy", allow_pickle=False)
                vectors = np.load(version / "sentence_vectors.npy", allow_pickle=False)
                if len(vectors) == len(spans):
                    texts = (records[o].text[a:b] for o, a, b in spans)
                    texts = map(transform, texts) if transform else texts
                    known.update(zip((content_hash(t) for t in texts),
                                     vectors.astype(np.float32)))
        except (IndexCorruptError, OSError, ValueError, KeyError, TypeError, AttributeError,
                IndexError):
            return {}
        return known

    def intact_array(self, name: str) -> np.ndarray | None:
        """The live version's ``.npy`` file ``name`` when it matches the manifest."""
        try:
            version = self.current()
            expected = self.read_manifest_raw()["files"][name]
            if version is None or _digest(version / name) != expected:
                return None
            return np.load(version / name, allow_pickle=False)
        except (IndexCorruptError, OSError, ValueError, KeyError, TypeError):
            return None

    def intact_records(self) -> RecordFile | None:
        """The live version's passages when its ``passages.jsonl`` matches the manifest."""
        try:
            version = self.current()
            expected = self.read_manifest_raw()["files"]["passages.jsonl"]
            if version is None or _digest(version / "passages.jsonl") != expected:
                return None
            return RecordFile(version / "passages.jsonl")
        except (IndexCorruptError, OSError, KeyError, TypeError):
            return None

    def load(self) -> LoadedIndex | None:
        """Load the live version, checking it against its manifest; ``None`` if none exists.

        Raises:
            IndexCorruptError: a file is missing, altered or out of step with the others.
        """
        manifest = self.read_manifest()
        if manifest is None:
            return None
        version = self.current()
        try:
            actual = _digests(version)
        except OSError as exc:
            raise IndexCorruptError(f"{version}: missing files ({exc}); rebuild with `qa build`") \
                from exc
        if actual != manifest.get("files"):
            bad = sorted(set(actual.items()) ^ set(manifest.get("files", {}).items()))
            names = sorted({name for name, _ in bad})
            raise IndexCorruptError(
                f"{version}: {', '.join(names)} do not match the manifest (damaged or edited); "
                "rebuild with `qa build`"
            )
        try:
            records = RecordFile(version / "passages.jsonl")
            sentences = np.load(version / "sentence_vectors.npy", mmap_mode="r",
                                allow_pickle=False)
            spans = np.load(version / "sentences.npy", mmap_mode="r", allow_pickle=False)
            scripts = np.load(version / "scripts.npy", allow_pickle=False)
            background = np.load(version / "background.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"{version}: unreadable data file ({exc}); rebuild") from exc
        dense = DenseIndex.load(version / "dense.faiss")
        keyword = KeywordIndex.load(version / "keyword", len(records))
        counts = manifest["counts"]
        if len({len(records), dense.size, len(scripts), counts["passages"]}) != 1 or \
                len({len(spans), len(sentences), counts["sentences"]}) != 1:
            raise IndexCorruptError(f"{version}: passages and vectors out of step; rebuild")
        return LoadedIndex(version, manifest, records, dense, keyword, sentences, spans,
                           background, scripts)

    def write(self, manifest: dict, records: list[Record], dense: DenseIndex,
              keyword: KeywordIndex, sentences: np.ndarray | Path, spans: np.ndarray,
              background: np.ndarray) -> Path:
        """Write a new version and make it live atomically; older versions are removed.
        ``sentences``: the sentence vectors, or a ``.npy`` file of them (moved, not copied).

        The caller should hold :attr:`lock_path` (see :mod:`qa.indexer`).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
        staging = self.folder / f".tmp-{name}"
        staging.mkdir()
        try:
            with open(staging / "passages.jsonl", "w", encoding="utf-8") as handle:
                for record in records:
                    handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            dense.save(staging / "dense.faiss")
            scripts = np.array([SCRIPT_CODES.get(r.script, 1) for r in records], dtype=np.int8)
            np.save(staging / "scripts.npy", scripts, allow_pickle=False)
            if isinstance(sentences, Path):
                os.replace(sentences, staging / "sentence_vectors.npy")
            else:
                np.save(staging / "sentence_vectors.npy", sentences, allow_pickle=False)
            np.save(staging / "sentences.npy", spans.astype(np.int32), allow_pickle=False)
            np.save(staging / "background.npy", background.astype(np.float32), allow_pickle=False)
            (staging / "keyword").mkdir()
            keyword.save(staging / "keyword")
            manifest = dict(manifest, format_version=FORMAT_VERSION, files=_digests(staging))
            manifest["counts"] = dict(manifest.get("counts", {}), passages=len(records))
            publish_file(staging / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
            fsync_tree(staging)
            os.replace(staging, self.folder / name)
            publish_file(self.folder / "CURRENT", name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._remove_old(keep=name)
        return self.folder / name

    def _remove_old(self, keep: str) -> None:
        for child in self.folder.iterdir():
            if child.name != keep and (child.name.startswith("v-") or child.name.startswith(".tmp-")):
                shutil.rmtree(child, ignore_errors=True)


def _digest(path: Path) -> str:
    size = path.stat().st_size
    return f"bytes:{size}" if size > HASH_LIMIT else file_sha256(path)

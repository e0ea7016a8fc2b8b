"""The index published to Milvus (``QA_BACKEND=milvus``): the collections and :func:`publish`.

A build still writes the index folder (:mod:`qa.indexer`, locally or on Ray); :func:`publish`
then brings one Milvus database up to date with it, sending only the passages it lacks and
deleting those gone; :mod:`qa.milvus` serves from it.

Collections, for an index ``NAME`` (``qa_`` + its folder's name):

- ``NAME_passages``: ``key`` (int64, from the passage's record), ``record`` (JSON), ``source``,
  ``script``, ``start`` (offset in the document), ``length`` (keyword tokens), ``since`` (the
  generation that sent it), ``dense`` (float vector, FLAT, IP) and ``keyword`` (sparse: per
  token id, BM25's term-frequency part ``tf / (tf + k1 (1 - b + b dl / avgdl))`` with the
  average length of the corpus when the passage was sent, ``avgdl``, also stored);
- ``NAME_sentences``: ``owner`` (passage key), ``start``, ``end``, ``vector``;
- ``NAME_meta``: the manifest, the vocabulary (stable token ids and document frequencies),
  the corpus size and length, the calibration background, written as JSON in rows of one
  generation; the ``head`` row, written last, names the live generation.

Milvus Lite (``QA_MILVUS_URI`` a local path, the default ``<index root>/milvus.db``) runs in
the process that opens it, one process per database; a Milvus server or cluster (``http://…``)
serves any number of chat and API processes.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from pathlib import Path

import numpy as np

from .errors import QAError
from .passage import Record, content_hash
from .store import LoadedIndex

log = logging.getLogger(__name__)
BATCH = 1_000
"""Rows per insert, get and delete call."""
META_CHUNK = 60_000
"""Characters of JSON per meta row (ASCII, under Milvus's 65,535-byte VARCHAR)."""


def collection_base(index_folder: Path) -> str:
    """``qa_`` + the index folder's name, in the letters Milvus allows."""
    return "qa_" + re.sub(r"[^0-9A-Za-z_]", "_", Path(index_folder).name)


def passage_key(record: Record) -> int:
    """A passage's primary key: 63 bits of the sha256 of its record."""
    text = json.dumps(record.to_json(), sort_keys=True, ensure_ascii=False)
    return int(content_hash(text)[:16], 16) >> 1


def _sparse_weights(tokens: list[str], ids: dict[str, int], k1: float, b: float,
                    avgdl: float) -> tuple[dict[int, float], int]:
    """A passage's keyword field (BM25's term-frequency part per token id) and length; an
    empty passage holds the empty token once, as in :meth:`qa.lexical.KeywordIndex.build`."""
    tokens = tokens or [""]
    norm = k1 * (1 - b + b * len(tokens) / avgdl)
    return ({ids[t]: tf / (tf + norm) for t, tf in Counter(tokens).items()}, len(tokens))


def term_frequencies(weights: dict[int, float], length: int, avgdl: float, k1: float,
                 b: float) -> dict[int, float]:
    """Term frequencies back from the weights :func:`_sparse_weights` wrote."""
    norm = k1 * (1 - b + b * length / avgdl)
    return {t: round(w * norm / (1 - w)) for t, w in weights.items()}


class Collections:
    """The three collections of one index in one Milvus database."""

    def __init__(self, milvus, base: str):
        self.milvus = milvus
        self.base = base
        self.passages, self.sentences, self.meta = (f"{base}_passages", f"{base}_sentences",
                                                    f"{base}_meta")

    def exist(self) -> bool:
        return all(self.milvus.has_collection(n) for n in (self.passages, self.sentences,
                                                             self.meta))

    def create(self, dimension: int) -> None:
        """Create what is missing (FLAT dense indexes: exact, as the local flat index)."""
        from pymilvus import DataType, MilvusClient

        def make(name, fields, vectors):
            if self.milvus.has_collection(name):
                self.milvus.load_collection(name)
                return
            schema = MilvusClient.create_schema(auto_id=name == self.sentences,
                                                enable_dynamic_field=False)
            for field, kind, extra in fields:
                schema.add_field(field, kind, **extra)
            params = self.milvus.prepare_index_params()
            for field, index in vectors:
                params.add_index(field_name=field, index_type=index, metric_type="IP")
            self.milvus.create_collection(name, schema=schema, index_params=params)

        make(self.passages, [("key", DataType.INT64, {"is_primary": True}),
                             ("record", DataType.VARCHAR, {"max_length": 65_535}),
                             ("source", DataType.VARCHAR, {"max_length": 4_096}),
                             ("script", DataType.INT8, {}),
                             ("start", DataType.INT64, {}),
                             ("length", DataType.INT32, {}),
                             ("avgdl", DataType.DOUBLE, {}),
                             ("since", DataType.INT64, {}),
                             ("dense", DataType.FLOAT_VECTOR, {"dim": dimension}),
                             ("keyword", DataType.SPARSE_FLOAT_VECTOR, {})],
             [("dense", "FLAT"), ("keyword", "SPARSE_INVERTED_INDEX")])
        make(self.sentences, [("id", DataType.INT64, {"is_primary": True}),
                              ("owner", DataType.INT64, {}),
                              ("start", DataType.INT32, {}),
                              ("end", DataType.INT32, {}),
                              ("vector", DataType.FLOAT_VECTOR, {"dim": dimension})],
             [("vector", "FLAT")])
        make(self.meta, [("name", DataType.VARCHAR, {"is_primary": True, "max_length": 256}),
                         ("value", DataType.VARCHAR, {"max_length": 65_535}),
                         ("unused", DataType.FLOAT_VECTOR, {"dim": 2})],  # Milvus needs one
             [("unused", "FLAT")])

    def drop(self) -> None:
        for name in (self.passages, self.sentences, self.meta):
            if self.milvus.has_collection(name):
                self.milvus.drop_collection(name)

    def scan(self, name: str, fields: list[str], where: str = "") -> list[dict]:
        """Every row of collection ``name`` (``fields`` only; ``where``: a filter), in pages."""
        rows: list[dict] = []
        iterator = self.milvus.query_iterator(name, batch_size=BATCH * 4, filter=where,
                                              output_fields=fields)
        try:
            while page := iterator.next():
                rows.extend(page)
        finally:
            iterator.close()
        return rows

    def head(self) -> dict | None:
        """The live generation's description, ``None`` before the first publish."""
        if not self.exist():
            return None
        self.milvus.load_collection(self.meta)
        found = self.milvus.get(self.meta, ids=["head"], output_fields=["value"])
        return json.loads(found[0]["value"]) if found else None

    def read_meta(self, head: dict, part: str):
        names = [f"{head['generation']}/{part}/{i:05d}" for i in range(head["parts"][part])]
        found = {}
        for start in range(0, len(names), BATCH):
            for row in self.milvus.get(self.meta, ids=names[start:start + BATCH],
                                       output_fields=["value"]):
                found[row["name"]] = row["value"]
        if len(found) != len(names):
            raise QAError(f"Milvus collection {self.meta} misses parts of {part!r}")
        return json.loads("".join(found[n] for n in names))

    def write_meta(self, generation: str, values: dict) -> dict:
        """Rows of ``values`` (name -> JSON-able) under ``generation``; returns the part counts."""
        parts = {}
        for part, value in values.items():
            text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
            pieces = [text[i:i + META_CHUNK] for i in range(0, len(text), META_CHUNK)] or [""]
            parts[part] = len(pieces)
            rows = [{"name": f"{generation}/{part}/{i:05d}", "value": piece, "unused": [0.0, 0.0]}
                    for i, piece in enumerate(pieces)]
            for start in range(0, len(rows), BATCH):
                self.milvus.upsert(self.meta, rows[start:start + BATCH])
        return parts


def publish(loaded: LoadedIndex, milvus, base: str, config, full: bool = False) -> dict:
    """Bring the collections ``base`` up to date with the local index ``loaded`` (built with
    ``config``): passages Milvus lacks are sent with their sentences, passages gone are
    deleted, then the vocabulary, statistics and manifest are written and made live at once.
    ``full``: drop and write everything again. Returns counts (sent, deleted, kept).

    Order: new passages (with their sentences, marked ``since`` the next generation, which
    readers ignore until it is live), the new generation's meta rows, the ``head`` row that
    makes it live, then the deletions. A publish stopped half-way leaves the previous
    generation live and whole; the next one finishes it (sentences of a passage not yet sent
    are replaced, never doubled).
    """
    from .build_vectors import chunk_tokens

    collections = Collections(milvus, base)
    if full:
        collections.drop()
    head = collections.head()
    if head is not None and head.get("version") == loaded.folder.name:
        return {"sent": 0, "deleted": 0, "kept": len(loaded.records)}
    dimension = int(loaded.background.shape[1])
    collections.create(dimension)
    records = loaded.records
    keys = np.array([passage_key(r) for r in records], dtype=np.int64)
    if len(np.unique(keys)) != len(keys):
        raise QAError("two passages share a Milvus key (identical records); rebuild the index")
    stats = collections.read_meta(head, "stats") if head else \
        {"tokens": [], "df": [], "size": 0, "total_length": 0}
    ids = {t: i for i, t in enumerate(stats["tokens"])}
    df = Counter(dict(enumerate(stats["df"])))
    live = (head or {}).get("ordinal", 0)
    remote, unpublished = {}, []
    for row in collections.scan(collections.passages, ["key", "length", "since"]):
        if row["since"] > live:
            unpublished.append(row["key"])  # sent by a publish that stopped: not counted
        else:
            remote[row["key"]] = row["length"]
    _delete(collections, unpublished)
    local = set(keys.tolist())
    gone = [k for k in remote if k not in local]
    fresh = [i for i, k in enumerate(keys.tolist()) if k not in remote]
    k1, b = float(loaded.keyword._bm25.k1), float(loaded.keyword._bm25.b)
    size = stats["size"]
    total = stats["total_length"]
    for start in range(0, len(gone), BATCH):  # their statistics out (rows: at the end)
        batch = gone[start:start + BATCH]
        for row in milvus.get(collections.passages, ids=batch, output_fields=["keyword"]):
            df.subtract(row["keyword"].keys())
        size -= len(batch)
        total -= sum(remote[k] for k in batch)
    ordinal = live + 1
    tokens = chunk_tokens([records[i] for i in fresh], config)
    for doc in tokens:
        for token in doc or [""]:
            if token not in ids:
                ids[token] = len(ids)
    lengths = [max(len(doc), 1) for doc in tokens]
    size += len(fresh)
    total += sum(lengths)
    avgdl = total / max(size, 1)
    owners = np.asarray(loaded.sentence_spans[:, 0]) if len(loaded.sentence_spans) else \
        np.zeros(0, np.int64)
    first = np.searchsorted(owners, np.arange(len(records) + 1))
    vectors = loaded.dense
    for start in range(0, len(fresh), BATCH):
        rows = fresh[start:start + BATCH]
        batch_keys = keys[rows].tolist()
        milvus.delete(collections.sentences, filter=f"owner in {batch_keys}")  # a stopped try's
        sentences = []
        for row, key in zip(rows, batch_keys):
            spans = np.asarray(loaded.sentence_spans[first[row]:first[row + 1]])
            block = np.asarray(loaded.sentences[first[row]:first[row + 1]], dtype=np.float32)
            sentences += [{"owner": key, "start": int(a), "end": int(e), "vector": v.tolist()}
                          for (_, a, e), v in zip(spans.tolist(), block)]
        for part in range(0, len(sentences), BATCH):
            milvus.insert(collections.sentences, sentences[part:part + BATCH])
        dense = vectors.vectors_at(np.asarray(rows, dtype=np.int64))
        passages = []
        for j, row in enumerate(rows):
            weights, length = _sparse_weights(tokens[start + j], ids, k1, b, avgdl)
            df.update(weights.keys())
            passages.append({"key": batch_keys[j],
                             "record": json.dumps(records[row].to_json(), ensure_ascii=False),
                             "source": records[row].source, "start": records[row].start,
                             "script": int(loaded.scripts[row]), "length": length,
                             "avgdl": avgdl, "since": ordinal, "dense": dense[j].tolist(),
                             "keyword": weights})
        milvus.insert(collections.passages, passages)
    tokens_list = sorted(ids, key=ids.__getitem__)
    stats = {"tokens": tokens_list, "df": [max(df.get(i, 0), 0) for i in range(len(ids))],
             "size": size, "total_length": total, "k1": k1, "b": b}
    generation = content_hash(f"{loaded.folder.name}:{len(remote)}:{len(fresh)}")[:12]
    parts = collections.write_meta(generation, {
        "stats": stats, "manifest": loaded.manifest,
        "background": np.asarray(loaded.background, dtype=np.float32).tolist()})
    old = head.get("generation") if head else None
    milvus.upsert(collections.meta, [{"name": "head", "unused": [0.0, 0.0], "value": json.dumps(
        {"generation": generation, "version": loaded.folder.name, "parts": parts,
         "ordinal": ordinal})}])
    _delete(collections, gone)
    if old and old != generation:
        milvus.delete(collections.meta, filter=f'name like "{old}/%"')
    milvus.flush(collections.passages)
    log.info("published %s to Milvus: %d passages sent, %d deleted, %d kept", base, len(fresh),
             len(gone), len(records) - len(fresh))
    return {"sent": len(fresh), "deleted": len(gone), "kept": len(records) - len(fresh)}


def _delete(collections: Collections, keys: list[int]) -> None:
    """Delete passages ``keys`` and their sentences."""
    for start in range(0, len(keys), BATCH):
        batch = keys[start:start + BATCH]
        collections.milvus.delete(collections.sentences, filter=f"owner in {batch}")
        collections.milvus.delete(collections.passages, ids=batch)


def live_version(milvus, base: str) -> str | None:
    """The version published as ``base`` now (a cheap look), ``None`` when none."""
    head = Collections(milvus, base).head()
    return head.get("version") if head else None

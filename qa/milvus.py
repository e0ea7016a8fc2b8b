"""The index served from Milvus (``QA_BACKEND=milvus``), the same ranking as the FAISS folder.

:func:`load` returns a :class:`MilvusIndex` of what :func:`qa.milvus_store.publish` wrote,
which the ranking (:mod:`qa.evidence`) uses like a large FAISS index: Milvus proposes
candidates (the best :data:`qa.evidence.CANDIDATES` by dense inner product, and by keyword
weight for the question's own and its translated keywords), and their scores, the fusion and
the "not found" calibration are computed here, exactly as for a local index.

Keyword scores stay exact although the corpus changes after passages were sent
(:mod:`qa.milvus_keyword`).

Rows are passages in document order (source, then offset); a process loads the small
per-passage tables (key, source, script, sentence spans: about 60 bytes a passage) and fetches
records and vectors on demand.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .errors import IndexMismatchError, QAError
from .milvus_keyword import SPARSE_LIMIT, MilvusKeyword
from .milvus_store import BATCH, Collections
from .passage import Record
from .store import LoadedIndex

CACHE_ROWS = 20_000
"""Fetched passages (vectors and keyword weights) kept per process."""


class _PassageCache:
    """Fields of passages fetched from Milvus by row, each made into a value by ``convert``
    and kept (the last :data:`CACHE_ROWS`)."""

    def __init__(self, collections: Collections, keys: np.ndarray, fields: list[str],
                 convert):
        self.collections, self.keys, self.fields, self.convert = collections, keys, fields, \
            convert
        self._rows: OrderedDict[int, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, rows) -> list:
        rows = [int(r) for r in rows]
        with self._lock:
            missing = [r for r in dict.fromkeys(rows) if r not in self._rows]
        found = {}
        for start in range(0, len(missing), BATCH):
            by_key = {int(self.keys[r]): r for r in missing[start:start + BATCH]}
            for item in self.collections.milvus.get(self.collections.passages, ids=list(by_key),
                                                    output_fields=self.fields):
                found[by_key[item["key"]]] = self.convert(item)
        if len(found) != len(missing):
            raise QAError("the Milvus collection changed under this process; it reloads")
        with self._lock:
            self._rows.update(found)
            for r in rows:
                if r in self._rows:
                    self._rows.move_to_end(r)
            while len(self._rows) > CACHE_ROWS:
                self._rows.popitem(last=False)
        return [found[r] if r in found else self._rows[r] for r in rows]


def _scoring_fields(collections: Collections, keys: np.ndarray) -> _PassageCache:
    """``(dense vector, keyword weights, length, avgdl)`` of passages by row."""
    return _PassageCache(collections, keys, ["dense", "keyword", "length", "avgdl"],
                         lambda item: (np.asarray(item["dense"], np.float32),
                                       dict(item["keyword"]), item["length"], item["avgdl"]))


class MilvusDense:
    """The dense side: Milvus searches, vectors fetched by row (``kind`` ``milvus``: the
    ranking takes candidates, :mod:`qa.evidence`)."""

    kind = "milvus"

    def __init__(self, collections: Collections, rows_of_keys, fetched: _PassageCache,
                 dimension: int, visible: str):
        self.visible = visible
        self.collections = collections
        self.rows_of_keys = rows_of_keys
        self.fetched = fetched
        self.dimension = dimension

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        hits = self.collections.milvus.search(
            self.collections.passages, data=np.asarray(vectors, np.float32).tolist(),
            anns_field="dense", limit=min(k, SPARSE_LIMIT), output_fields=["key"],
            filter=self.visible, search_params={"metric_type": "IP"})
        rows = np.full((len(hits), k), -1, dtype=np.int64)
        scores = np.full((len(hits), k), -np.inf, dtype=np.float32)
        for i, found in enumerate(hits):
            rows[i, :len(found)] = self.rows_of_keys([h["key"] for h in found])
            scores[i, :len(found)] = [h["distance"] for h in found]
        return scores, rows

    def vectors_at(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros((0, self.dimension), np.float32)
        return np.stack([item[0] for item in self.fetched.get(rows)])


class MilvusRecords:
    """Passage records by row, fetched from Milvus on access (cached)."""

    def __init__(self, collections: Collections, keys: np.ndarray):
        self.keys = keys
        self._cache = _PassageCache(collections, keys, ["record"],
                                    lambda item: Record(**json.loads(item["record"])))

    def __len__(self) -> int:
        return len(self.keys)

    def __bool__(self) -> bool:
        return len(self.keys) > 0

    def __iter__(self):
        for start in range(0, len(self.keys), BATCH):
            yield from self.many(range(start, min(start + BATCH, len(self.keys))))

    def __getitem__(self, row):
        if isinstance(row, slice):
            return self.many(range(*row.indices(len(self))))
        return self.many([int(row)])[0]

    def many(self, rows) -> list[Record]:
        return self._cache.get([int(r) if r >= 0 else int(r) + len(self.keys) for r in rows])


class MilvusSentences:
    """Sentence vectors by sentence row, fetched from Milvus on access."""

    def __init__(self, collections: Collections, ids: np.ndarray, dimension: int):
        self.collections, self.ids, self.dimension = collections, ids, dimension

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, rows) -> np.ndarray:
        rows = np.atleast_1d(np.arange(len(self.ids))[rows])
        out = np.zeros((len(rows), self.dimension), dtype=np.float32)
        where = {int(self.ids[r]): i for i, r in enumerate(rows.tolist())}
        keys = list(where)
        for start in range(0, len(keys), BATCH):
            for item in self.collections.milvus.get(self.collections.sentences,
                                                    ids=keys[start:start + BATCH],
                                                    output_fields=["vector"]):
                out[where[item["id"]]] = item["vector"]
        return out


class MilvusIndex(LoadedIndex):
    """An index served from Milvus, in the shape of :class:`qa.store.LoadedIndex`
    (``folder``: ``milvus/<collections>/<version>``, so its name is the version published)."""

    @property
    def rows_by_source(self) -> dict[str, np.ndarray]:
        return self._rows_by_source


def load(milvus, base: str) -> MilvusIndex:
    """The index published as ``base``.

    Raises:
        IndexMismatchError: nothing was published under ``base``.
    """
    collections = Collections(milvus, base)
    head = collections.head()
    if head is None:
        raise IndexMismatchError(f"Milvus holds no index {base!r}: build it with QA_BACKEND="
                                 "milvus, or copy one with `qa export --to milvus`")
    for name in (collections.passages, collections.sentences):
        milvus.load_collection(name)
    stats = collections.read_meta(head, "stats")
    manifest = collections.read_meta(head, "manifest")
    background = np.asarray(collections.read_meta(head, "background"), dtype=np.float32)
    visible = f"since <= {int(head.get('ordinal', 0))}"  # not what a stopped publish sent
    table = sorted(collections.scan(collections.passages, ["key", "source", "script", "start"],
                                    visible),
                   key=lambda r: (r["source"], r["start"], r["key"]))  # ties: document order
    keys = np.array([r["key"] for r in table], dtype=np.int64)
    by_key = np.argsort(keys)
    sorted_keys = keys[by_key]

    def rows_of_keys(found: list[int]) -> np.ndarray:
        found = np.asarray(found, dtype=np.int64)
        at = np.searchsorted(sorted_keys, found)
        if len(found) and (at.max() >= len(keys) or not np.array_equal(sorted_keys[at], found)):
            raise QAError("the Milvus collection changed under this process; it reloads")
        return by_key[at].astype(np.int64)

    sentences = collections.scan(collections.sentences, ["id", "owner", "start", "end"])
    held = np.isin(np.array([s["owner"] for s in sentences], dtype=np.int64), keys)
    sentences = [s for s, ok in zip(sentences, held.tolist()) if ok]
    owner_rows = rows_of_keys([s["owner"] for s in sentences]) if sentences else \
        np.zeros(0, np.int64)
    order = np.lexsort((np.array([s["start"] for s in sentences], dtype=np.int64), owner_rows)) \
        if sentences else np.zeros(0, np.int64)
    spans = np.array([[owner_rows[i], sentences[i]["start"], sentences[i]["end"]]
                      for i in order.tolist()], dtype=np.int32).reshape(-1, 3)
    sentence_ids = np.array([sentences[i]["id"] for i in order.tolist()], dtype=np.int64)
    fetched = _scoring_fields(collections, keys)
    dimension = int(background.shape[1])
    index = MilvusIndex(
        folder=Path("milvus") / base / head["version"], manifest=manifest,
        records=MilvusRecords(collections, keys),
        dense=MilvusDense(collections, rows_of_keys, fetched, dimension, visible),
        keyword=MilvusKeyword(collections, stats, rows_of_keys, fetched, visible),
        sentences=MilvusSentences(collections, sentence_ids, dimension),
        sentence_spans=spans, background=background,
        scripts=np.array([r["script"] for r in table], dtype=np.int8))
    by_source: dict[str, list[int]] = {}
    for row, r in enumerate(table):
        by_source.setdefault(r["source"], []).append(row)
    index._rows_by_source = {s: np.array(rows, dtype=np.int64) for s, rows in by_source.items()}
    return index

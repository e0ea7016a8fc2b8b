"""The index served from Milvus (``QA_BACKEND=milvus``), the same ranking as the FAISS folder.

A build still writes the index folder (:mod:`qa.indexer`, locally or on Ray); :func:`publish`
then brings one Milvus database up to date with it, sending only the passages it lacks and
deleting those gone, and :func:`load` serves from Milvus: it returns a :class:`MilvusIndex`,
which the ranking (:mod:`qa.evidence`) uses like a large FAISS index: Milvus proposes
candidates (the best :data:`qa.evidence.CANDIDATES` by dense inner product, and by keyword
weight for the question's own and its translated keywords), and their scores, the fusion and
the "not found" calibration are computed here, exactly as for a local index.

Collections, for an index ``NAME`` (``qa_`` + its folder's name):

- ``NAME_passages``: ``key`` (int64, from the passage's record), ``record`` (JSON), ``source``,
  ``script``, ``start`` (offset in the document), ``length`` (keyword tokens), ``since`` (the generation that sent it), ``dense`` (float vector, FLAT, IP) and ``keyword``
  (sparse: per token id, BM25's term-frequency part ``tf / (tf + k1 (1 - b + b dl / avgdl))``
  with the average length of the corpus when the passage was sent, ``avgdl``, also stored);
- ``NAME_sentences``: ``owner`` (passage key), ``start``, ``end``, ``vector``;
- ``NAME_meta``: the manifest, the vocabulary (stable token ids and document frequencies),
  the corpus size and length, the calibration background, written as JSON in rows of one
  generation; the ``head`` row, written last, names the live generation.

Keyword scores stay exact although the corpus changes after passages were sent: a question's
sparse query carries each token's current idf, and the candidates' scores are recomputed here
from their stored weights (term frequency and length recovered, the current average length
applied), so they equal bm25s's over the local folder. Milvus's own candidate order uses the
weights as sent (close, not always equal, after many changes; ``qa export --to milvus
--full`` rewrites them).

Rows are passages in document order (source, then offset); a process loads the small per-passage tables (key, source,
script, sentence spans: about 60 bytes a passage) and fetches records and vectors on demand.
Milvus Lite (``QA_MILVUS_URI`` a local path, the default ``<index root>/milvus.db``) runs in
the process that opens it, one process per database; a Milvus server or cluster (``http://…``)
serves any number of chat and API processes.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter, OrderedDict
from pathlib import Path

import numpy as np

from .errors import IndexMismatchError, MissingDependencyError, QAError
from .lexical import idf
from .passage import Record, content_hash
from .store import LoadedIndex

log = logging.getLogger(__name__)
BATCH = 1_000
"""Rows per insert, get and delete call."""
META_CHUNK = 60_000
"""Characters of JSON per meta row (ASCII, under Milvus's 65,535-byte VARCHAR)."""
SPARSE_LIMIT = 16_384
"""The most hits one Milvus search returns (Milvus's own cap on ``limit``)."""
CACHE_ROWS = 20_000
"""Fetched passages (vectors and keyword weights) kept per process."""
_CLIENTS: dict[tuple[str, str], object] = {}
_CLIENTS_LOCK = threading.Lock()


class _LiteNoise(logging.Filter):
    """Drops what each paged scan makes Milvus Lite and pymilvus log: Lite has no timestamp
    service, and pymilvus then uses its own clock (which is right in one process)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "mvccTs" not in message and "Method not implemented" not in message


def client(uri: str, token: str = ""):
    """One pymilvus client per (uri, token) in this process (a Milvus Lite path: its folder's
    parent must exist)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MissingDependencyError(
            "pymilvus is missing: pip install 'qa-chat[milvus]' (QA_BACKEND=milvus)") from exc
    key = (str(uri), token or "")
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            options = {}
            if "://" not in str(uri):  # Milvus Lite, in this process
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
                for name in ("pymilvus.client.iterator.query_iterator", "grpc._server"):
                    logging.getLogger(name).addFilter(_LiteNoise())
                # no keep-alive pings: Lite's server answers pymilvus's every-10-s pings
                # with GOAWAY "too_many_pings" (a reconnect and two log lines each time)
                options = {"grpc_options": {"grpc.keepalive_time_ms": 2**31 - 1,
                                            "grpc.keepalive_permit_without_calls": False}}
            try:
                _CLIENTS[key] = MilvusClient(uri=str(uri), token=token or "", **options)
            except Exception as exc:  # pymilvus raises its own MilvusException types
                raise QAError(f"cannot open Milvus at {uri}: {exc}") from exc
        return _CLIENTS[key]


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


def _frequencies(weights: dict[int, float], length: int, avgdl: float, k1: float,
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


class _Fetched:
    """Vectors and keyword weights of passages, fetched by row and kept (LRU)."""

    def __init__(self, collections: Collections, keys: np.ndarray):
        self.collections = collections
        self.keys = keys
        self._rows: OrderedDict[int, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, rows) -> list[tuple]:
        """``(dense vector, keyword weights, length, avgdl)`` of each of ``rows``."""
        rows = [int(r) for r in rows]
        with self._lock:
            missing = [r for r in dict.fromkeys(rows) if r not in self._rows]
        found = {}
        for start in range(0, len(missing), BATCH):
            part = missing[start:start + BATCH]
            by_key = {int(self.keys[r]): r for r in part}
            for item in self.collections.milvus.get(
                    self.collections.passages, ids=list(by_key),
                    output_fields=["dense", "keyword", "length", "avgdl"]):
                found[by_key[item["key"]]] = (np.asarray(item["dense"], np.float32),
                                              dict(item["keyword"]), item["length"],
                                              item["avgdl"])
        if len(found) != len(missing):
            raise QAError("the Milvus collection changed under this process; it reloads")
        with self._lock:
            self._rows.update(found)
            out = [self._rows[r] for r in rows]
            for r in rows:
                self._rows.move_to_end(r)
            while len(self._rows) > CACHE_ROWS:
                self._rows.popitem(last=False)
        return out


class MilvusDense:
    """The dense side: Milvus searches, vectors fetched by row (``kind`` ``milvus``: the
    ranking takes candidates, :mod:`qa.evidence`)."""

    kind = "milvus"

    def __init__(self, collections: Collections, rows_of_keys, fetched: _Fetched,
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


class MilvusKeyword:
    """The keyword side over Milvus's sparse field: the vocabulary and document frequencies in
    memory, candidates from Milvus, scores computed exactly (see the module docstring)."""

    def __init__(self, collections: Collections, stats: dict, rows_of_keys, fetched: _Fetched,
                 visible: str):
        self.visible = visible
        self.collections = collections
        self.ids = {t: i for i, t in enumerate(stats["tokens"])}
        self.df = np.asarray(stats["df"], dtype=np.int64)
        self.size = int(stats["size"])
        self.avgdl = stats["total_length"] / max(self.size, 1)
        self.k1, self.b = float(stats["k1"]), float(stats["b"])
        self.rows_of_keys = rows_of_keys
        self.fetched = fetched

    def document_frequency(self, tokens: list[str]) -> dict[str, int]:
        return {t: int(self.df[self.ids[t]]) if t in self.ids else 0 for t in tokens}

    def upper_bound(self, tokens: list[str]) -> float:
        return self._bound(self.document_frequency(tokens))

    def _bound(self, frequencies: dict[str, int]) -> float:
        return float((self.k1 + 1) * sum(idf(df, self.size) for df in frequencies.values()))

    def _query(self, tokens) -> dict[int, float]:
        """Token id -> idf for the known ``tokens`` (each once)."""
        return {self.ids[t]: idf(int(self.df[self.ids[t]]), self.size)
                for t in dict.fromkeys(tokens) if t in self.ids and self.df[self.ids[t]] > 0}

    def _search(self, query: dict[int, float], k: int) -> np.ndarray:
        if not query:
            return np.zeros(0, dtype=np.int64)
        hits = self.collections.milvus.search(
            self.collections.passages, data=[query], anns_field="keyword",
            limit=min(k, SPARSE_LIMIT), output_fields=["key"], filter=self.visible,
            search_params={"metric_type": "IP"})
        return self.rows_of_keys([h["key"] for h in hits[0]])

    def holders(self, token: str) -> np.ndarray:
        """Rows of the passages holding ``token`` (its first :data:`SPARSE_LIMIT` on a
        Milvus server), ascending."""
        if token not in self.ids or self.df[self.ids[token]] == 0:
            return np.zeros(0, dtype=np.int64)
        return np.sort(self._search({self.ids[token]: 1.0}, int(self.df[self.ids[token]])))

    def query(self, tokens, terms=()) -> "MilvusKeywordQuery":
        return MilvusKeywordQuery(self, list(tokens), list(terms or ()))

    def exact_scores(self, query: dict[int, float], rows: np.ndarray) -> np.ndarray:
        """BM25 (bm25s's Lucene form) of ``query`` (id -> idf) at ``rows``."""
        out = np.zeros(len(rows), dtype=np.float32)
        if not query or len(rows) == 0:
            return out
        for i, (_, weights, length, avgdl) in enumerate(self.fetched.get(rows)):
            held = [t for t in query if t in weights]
            if not held:
                continue
            tf = _frequencies({t: weights[t] for t in held}, length, avgdl, self.k1, self.b)
            norm = self.k1 * (1 - self.b + self.b * length / self.avgdl)
            out[i] = sum(np.float32(query[t]) * np.float32(tf[t] / (tf[t] + norm))
                         for t in held)
        return out


class MilvusKeywordQuery:
    """One question's keyword evidence (the interface of
    :class:`qa.lexical.KeywordQuery`)."""

    def __init__(self, keyword: MilvusKeyword, tokens: list[str], terms: list):
        self.keyword, self.tokens, self.terms = keyword, tokens, terms
        self._translations = []  # per term: [(query, bound)] of translations the corpus holds
        for term in terms:
            usable = []
            for translation in term.translations:
                frequencies = keyword.document_frequency(list(translation))
                if min(frequencies.values()) > 0:
                    usable.append((keyword._query(translation), keyword._bound(frequencies)))
            self._translations.append(usable)

    def top(self, k: int) -> np.ndarray:
        return self.keyword._search(self.keyword._query(self.tokens), k)

    def at(self, rows: np.ndarray) -> np.ndarray:
        return self.keyword.exact_scores(self.keyword._query(self.tokens), rows)

    def term_top(self, k: int) -> np.ndarray:
        found = [self.keyword._search(q, k) for usable in self._translations for q, _ in usable]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)

    def term_at(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        total = np.zeros(len(rows), dtype=np.float32)
        bound = 0.0
        for usable in self._translations:
            if usable:
                total += np.max([self.keyword.exact_scores(q, rows) for q, _ in usable], axis=0)
                bound += max(b for _, b in usable)
        return total, bound


class MilvusRecords:
    """Passage records by row, fetched from Milvus on access (LRU)."""

    def __init__(self, collections: Collections, keys: np.ndarray):
        self.collections, self.keys = collections, keys
        self._cache: OrderedDict[int, Record] = OrderedDict()
        self._lock = threading.Lock()

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
        rows = [int(r) if r >= 0 else int(r) + len(self.keys) for r in rows]
        with self._lock:
            missing = [r for r in dict.fromkeys(rows) if r not in self._cache]
        found = {}
        for start in range(0, len(missing), BATCH):
            part = missing[start:start + BATCH]
            by_key = {int(self.keys[r]): r for r in part}
            for item in self.collections.milvus.get(self.collections.passages, ids=list(by_key),
                                                    output_fields=["record"]):
                found[by_key[item["key"]]] = Record(**json.loads(item["record"]))
        if len(found) != len(missing):
            raise QAError("the Milvus collection changed under this process; it reloads")
        with self._lock:
            self._cache.update(found)
            while len(self._cache) > CACHE_ROWS:
                self._cache.popitem(last=False)
        return [found[r] if r in found else self._cache[r] for r in rows]


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
    fetched = _Fetched(collections, keys)
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


def live_version(milvus, base: str) -> str | None:
    """The version published as ``base`` now (a cheap look), ``None`` when none."""
    head = Collections(milvus, base).head()
    return head.get("version") if head else None



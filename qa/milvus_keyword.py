"""The keyword side of the index served from Milvus (:mod:`qa.milvus`), the same scores as
:class:`qa.lexical.KeywordIndex` over the local folder.

Keyword scores stay exact although the corpus changes after passages were sent: a question's
sparse query carries each token's current idf, and the candidates' scores are recomputed here
from their stored weights (term frequency and length recovered, the current average length
applied), so they equal bm25s's over the local folder. Milvus's own candidate order uses the
weights as sent (close, not always equal, after many changes; ``qa export --to milvus
--full`` rewrites them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .lexical import bm25_bound, idf
from .milvus_store import Collections, term_frequencies

if TYPE_CHECKING:
    from .milvus import _PassageCache

SPARSE_LIMIT = 16_384
"""The most hits one Milvus search returns (Milvus's own cap on ``limit``)."""


class MilvusKeyword:
    """The keyword side over Milvus's sparse field: the vocabulary and document frequencies in
    memory, candidates from Milvus, scores computed exactly (see the module docstring)."""

    def __init__(self, collections: Collections, stats: dict, rows_of_keys,
                 fetched: _PassageCache,
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

    def upper_bound(self, tokens: list[str], weights=None) -> float:
        return self._bound(self.document_frequency(tokens), weights)

    def _bound(self, frequencies: dict[str, int], weights=None) -> float:
        return bm25_bound(frequencies, self.size, self.k1, weights)

    def _query(self, tokens, weights=None) -> dict[int, float]:
        """Token id -> idf times the token's weight (``weights``, default 1) for the known
        ``tokens`` (each once)."""
        weights = weights or {}
        return {self.ids[t]: weights.get(t, 1.0) * idf(int(self.df[self.ids[t]]), self.size)
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

    def query(self, tokens, terms=(), weights=None) -> "MilvusKeywordQuery":
        return MilvusKeywordQuery(self, list(tokens), list(terms or ()), weights)

    def exact_scores(self, query: dict[int, float], rows: np.ndarray) -> np.ndarray:
        """BM25 (bm25s's Lucene form) of ``query`` (id -> idf) at ``rows``."""
        out = np.zeros(len(rows), dtype=np.float32)
        if not query or len(rows) == 0:
            return out
        for i, (_, weights, length, avgdl) in enumerate(self.fetched.get(rows)):
            held = [t for t in query if t in weights]
            if not held:
                continue
            tf = term_frequencies({t: weights[t] for t in held}, length, avgdl, self.k1, self.b)
            norm = self.k1 * (1 - self.b + self.b * length / self.avgdl)
            out[i] = sum(np.float32(query[t]) * np.float32(tf[t] / (tf[t] + norm))
                         for t in held)
        return out


class MilvusKeywordQuery:
    """One question's keyword evidence (the interface of
    :class:`qa.lexical.KeywordQuery`)."""

    def __init__(self, keyword: MilvusKeyword, tokens: list[str], terms: list, weights=None):
        self.keyword, self.tokens, self.terms = keyword, tokens, terms
        self.weights = weights
        self._translations = []  # per term: [(query, bound)] of translations the corpus holds
        for term in terms:
            usable = []
            for translation in term.translations:
                frequencies = keyword.document_frequency(list(translation))
                if min(frequencies.values()) > 0:
                    usable.append((keyword._query(translation), keyword._bound(frequencies)))
            self._translations.append(usable)

    def top(self, k: int) -> np.ndarray:
        return self.keyword._search(self.keyword._query(self.tokens, self.weights), k)

    def at(self, rows: np.ndarray) -> np.ndarray:
        return self.keyword.exact_scores(self.keyword._query(self.tokens, self.weights), rows)

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

"""bm25s's BM25 score matrix computed for a whole corpus at once with numpy (the keyword index's
build, :meth:`qa.lexical.KeywordIndex.build_from_ids`; bit-identical to bm25s's own loop)."""

from __future__ import annotations

import math

import numpy as np


def lucene_scores(ids: list[np.ndarray], vocabulary_size: int, k1: float, b: float,
                   chunk: int = 16_384) -> dict:
    """bm25s's score matrix (``{"data", "indices", "indptr", "num_docs"}``, CSC: per token the
    passages holding it, ascending, and their BM25 scores) for passages of token ``ids``:
    the same arithmetic as ``bm25s.BM25.build_index_from_ids`` with ``method="lucene"`` (idf
    ``log(1 + (N - df + 0.5) / (df + 0.5))`` kept in float32, term frequency part in float64),
    vectorised. (token, passage) pairs are counted ``chunk`` passages at a time and kept as
    int32 triples; once every token's passage count is known, each chunk's scores are written
    straight to their place in the matrix and the chunk is dropped, so memory stays near the
    matrix itself (no sort of the whole corpus)."""
    n = len(ids)
    lengths = np.fromiter((len(doc) for doc in ids), dtype=np.int64, count=n)
    parts, df = [], np.zeros(vocabulary_size, dtype=np.int64)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        docs = np.repeat(np.arange(start, stop, dtype=np.int64), lengths[start:stop])
        pairs = np.concatenate(ids[start:stop]).astype(np.int64) * n + docs
        pairs, counts = np.unique(pairs, return_counts=True)  # by token, then passage
        tokens, docs = np.divmod(pairs, n)
        df += np.bincount(tokens, minlength=vocabulary_size)
        parts.append((tokens.astype(np.int32), docs.astype(np.int32), counts.astype(np.int32)))
    idf = np.zeros(vocabulary_size, dtype=np.float32)
    held = np.flatnonzero(df)
    idf[held] = [math.log(1 + (n - f + 0.5) / (f + 0.5)) for f in df[held].tolist()]
    indptr = np.zeros(vocabulary_size + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(indptr[-1], dtype=np.float32)
    indices = np.empty(indptr[-1], dtype=np.int32)
    cursor = indptr[:-1].copy()  # where each token's next passage goes
    norm = k1 * ((1 - b) + b * lengths / lengths.mean())
    parts.reverse()
    while parts:  # chunks in passage order: each token's passages stay ascending
        tokens, docs, tf = parts.pop()
        first = np.flatnonzero(np.r_[True, tokens[1:] != tokens[:-1]])  # each token's run
        runs = np.diff(np.r_[first, len(tokens)])
        rank = np.arange(len(tokens)) - np.repeat(first, runs)
        where = cursor[tokens] + rank
        cursor[tokens[first]] += runs
        frequency = tf.astype(np.float64)
        data[where] = idf[tokens] * (frequency / (norm[docs] + frequency))
        indices[where] = docs
    return {"data": data, "indices": indices, "indptr": indptr, "num_docs": n}

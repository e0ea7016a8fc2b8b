"""Comparing two built indexes (helpers for the build tests)."""

import numpy as np


def assert_same_index(a, b, min_cosine: float) -> None:
    """``a`` and ``b`` (loaded indexes) have the same sentence spans, keyword matrix and
    vocabulary, and passage and sentence vectors at cosine above ``min_cosine``."""
    assert np.array_equal(np.asarray(a.sentence_spans), np.asarray(b.sentence_spans))
    for key in ("data", "indices", "indptr"):
        assert np.array_equal(np.asarray(a.keyword._bm25.scores[key]),
                              np.asarray(b.keyword._bm25.scores[key]))
    assert a.keyword._bm25.vocab_dict == b.keyword._bm25.vocab_dict
    for mine, theirs in ((a.dense.vectors(), b.dense.vectors()),
                         (np.asarray(a.sentences), np.asarray(b.sentences))):
        assert mine.shape == theirs.shape and (mine * theirs).sum(axis=1).min() >= min_cosine

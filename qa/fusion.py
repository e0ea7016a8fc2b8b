"""Combining the dense and keyword rankings into one score per candidate passage."""

from __future__ import annotations

import numpy as np


def combine(dense: np.ndarray, keyword: np.ndarray, keyword_weight: float = 0.3) -> np.ndarray:
    """Fused scores for candidates given their dense cosines and BM25 scores.

    BM25 is scaled by the best candidate's BM25 so it lies in [0, 1].
    """
    top = float(keyword.max()) if len(keyword) else 0.0
    scaled = keyword / top if top > 0 else np.zeros_like(keyword)
    return (1 - keyword_weight) * dense + keyword_weight * scaled

"""The only module that imports faiss: inner-product search over unit vectors.

The index type follows the corpus size (measured by ``bench/scale.py``):

- below :data:`IVF_MIN_VECTORS` vectors, an exact ``IndexFlatIP``; the ranking then scores
  every passage (:mod:`qa.evidence`);
- from there on, an inverted file (``IndexIVFFlat``, ``nlist ≈ 4·√n`` k-means cells trained on
  a sample, :data:`NPROBE_SHARE` of the cells probed per question), which only proposes
  candidates: their cosines are computed exactly afterwards. ``compact=True`` stores its
  vectors as fp16 (``IndexIVFScalarQuantizer``), half the memory.

``exact=True`` (``QA_EXACT=1``, recorded in the index's config) keeps the flat index at any
size (the slow exact path).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import IndexCorruptError, MissingDependencyError

IVF_MIN_VECTORS = 50_000
NPROBE_SHARE = 1 / 16
TRAIN_PER_CELL = 40


def _faiss():
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError("faiss is missing: pip install faiss-cpu") from exc
    return faiss


def choose_kind(size: int, exact: bool = False) -> str:
    """``flat`` or ``ivf`` for an index of ``size`` vectors (see the module docstring)."""
    if exact or size < IVF_MIN_VECTORS:
        return "flat"
    return "ivf"


class DenseIndex:
    """A FAISS inner-product index; rows are passages in insertion order."""

    def __init__(self, index):
        self._index = index
        if self.kind == "ivf":
            self._index.make_direct_map()

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int, kind: str | None = None,
              compact: bool = False, progress: bool = False,
              exact: bool = False) -> "DenseIndex":
        """An index over ``vectors`` (shape ``(n, dimension)``, unit length); ``kind`` is
        ``flat`` or ``ivf`` (default: by size and ``exact``, :func:`choose_kind`)."""
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        kind = kind or choose_kind(len(vectors), exact)
        if kind == "flat":
            index = faiss.IndexFlatIP(dimension)
        else:
            nlist = max(1, min(int(4 * math.sqrt(len(vectors))), len(vectors) // TRAIN_PER_CELL))
            quantizer = faiss.IndexFlatIP(dimension)
            if compact:
                index = faiss.IndexIVFScalarQuantizer(quantizer, dimension, nlist,
                                                      faiss.ScalarQuantizer.QT_fp16,
                                                      faiss.METRIC_INNER_PRODUCT)
            else:
                index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.verbose = progress  # k-means progress on stdout
            sample = np.random.default_rng(0).choice(
                len(vectors), min(len(vectors), nlist * TRAIN_PER_CELL), replace=False)
            index.train(vectors[np.sort(sample)])
            index.nprobe = max(1, math.ceil(nlist * NPROBE_SHARE))
            quantizer.this.disown()
            index.own_fields = True
        for start in range(0, len(vectors), 100_000):
            index.add(vectors[start:start + 100_000])
        return cls(index)

    @property
    def kind(self) -> str:
        return "flat" if isinstance(self._index, _faiss().IndexFlat) else "ivf"

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def vectors(self) -> np.ndarray:
        """All stored vectors, shape ``(size, dimension)``."""
        if self.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_n(0, self.size)

    def vectors_at(self, rows: np.ndarray) -> np.ndarray:
        """Stored vectors of ``rows``, shape ``(len(rows), dimension)``."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.kind == "flat":
            flat = _faiss().rev_swig_ptr(self._index.get_xb(), self.size * self.dimension)
            return flat.reshape(self.size, self.dimension)[rows]
        return self._index.reconstruct_batch(rows)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, rows)`` per query; rows are -1 where fewer than k exist."""
        k = max(1, min(k, self.size))
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        """Read an index file.

        Raises:
            IndexCorruptError: the file is missing or unreadable.
        """
        try:
            return cls(_faiss().read_index(str(path)))
        except RuntimeError as exc:
            raise IndexCorruptError(f"{path}: unreadable FAISS index ({str(exc).splitlines()[0]})") \
                from exc

"""The only module that imports faiss: exact inner-product search over unit vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import IndexCorruptError, MissingDependencyError


def _faiss():
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError("faiss is missing: pip install faiss-cpu") from exc
    return faiss


class DenseIndex:
    """A FAISS inner-product index; rows are passages (or sentences) in insertion order."""

    def __init__(self, index):
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int) -> "DenseIndex":
        """An exact index over ``vectors`` (shape ``(n, dimension)``, unit length)."""
        faiss = _faiss()
        index = faiss.IndexFlatIP(dimension)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

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
        if hasattr(self._index, "get_xb"):
            faiss = _faiss()
            flat = faiss.rev_swig_ptr(self._index.get_xb(), self.size * self.dimension)
            return flat.reshape(self.size, self.dimension)[rows]
        return np.stack([self._index.reconstruct(int(r)) for r in rows])

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

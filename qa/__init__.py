"""Question answering over documents: passages, a FAISS index and a keyword index.

    >>> from qa import retrieve
    >>> for p in retrieve("划船社区党委书记是谁?", k=3):
    ...     print(p.score, p.source, p.title, p.text)

Importing ``qa`` loads nothing heavy: the model and the index load on the first question.
"""

from __future__ import annotations

import threading

from .errors import (DocumentError, IndexCorruptError, IndexMismatchError,
                     MissingDependencyError, QAError)
from .passage import Passage

__all__ = [
    "retrieve", "default_retriever", "Retriever", "Passage", "QAError", "DocumentError",
    "IndexCorruptError", "IndexMismatchError", "MissingDependencyError",
]
__version__ = "0.1.0"

_DEFAULT = None
_DEFAULT_LOCK = threading.Lock()


def __getattr__(name):
    if name == "Retriever":
        from .retriever import Retriever

        return Retriever
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


def default_retriever():
    """The process-wide retriever over the documents in ``QA_DOCS`` (default ``seeds/``),
    indexed in ``<QA_INDEX_ROOT>/<folder name>`` and built on first use when missing or stale."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            from .config import Settings
            from .retriever import Retriever

            settings = Settings.from_env()
            _DEFAULT = Retriever(settings.index_root / settings.docs_dir.name,
                                 documents=[settings.docs_dir], settings=settings)
        return _DEFAULT


def retrieve(question: str, k: int = 5, history: list[str] | None = None,
             possible: bool = False, sources: str | list[str] | None = None) -> list[Passage]:
    """The ``k`` passages of the default documents that best answer ``question`` (with
    ``possible``, also those only possibly relevant, ``tier == "possible"``; with ``sources``,
    only from the documents they name or match, e.g. ``"*.pdf"``).

    See :meth:`qa.retriever.Retriever.retrieve` for arguments and errors.
    """
    return default_retriever().retrieve(question, k=k, history=history, possible=possible,
                                        sources=sources)

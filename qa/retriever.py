"""Answering questions from an index: :class:`Retriever` and its one ranking."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import fusion
from .config import Settings
from .errors import IndexMismatchError
from .indexer import IndexConfig, build_from_files, files_hash, model_settings
from .documents import find_documents
from .lexical import tokenize
from .passage import Passage, Record
from .store import IndexStore, LoadedIndex

MAX_K = 100
MAX_QUESTION_CHARS = 1000
CANDIDATES = 100


@dataclass(frozen=True)
class Question:
    """A question ready to rank: the text to embed and its keyword tokens."""

    text: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Ranked:
    """One ranked row: index row and fused score."""

    row: int
    score: float


def clean_question(question) -> str:
    """The question stripped and cut to ``MAX_QUESTION_CHARS``.

    Raises:
        ValueError: not a string, or empty / white space only.
    """
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, not {type(question).__name__}")
    text = question.encode("utf-8", "replace").decode("utf-8").strip()
    text = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    if not text.strip():
        raise ValueError("the question is empty")
    return text[:MAX_QUESTION_CHARS].strip()


def check_k(k) -> int:
    """``k`` as an int in 1..MAX_K.

    Raises:
        ValueError: not an integer or out of range.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, not {k!r}")
    if not 1 <= int(k) <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
    return int(k)


class Retriever:
    """Retrieval over one index folder, built from ``documents`` when missing or stale.

    Args:
        index_dir: the index folder (``embeddings/<name>``).
        documents: files or folders the index is built from; ``None`` for an index that
            is only opened (an eval corpus, or one built with ``qa build``).
        settings: model and paths (default: from the environment).
        config: chunking and keyword settings.
        progress: show a progress bar while embedding.
    """

    def __init__(self, index_dir: str | Path, documents: list[str | Path] | None = None,
                 settings: Settings | None = None, config: IndexConfig = IndexConfig(),
                 progress: bool = True):
        self.store = IndexStore(Path(index_dir))
        self.documents = [Path(p) for p in documents] if documents is not None else None
        self.settings = settings or Settings.from_env()
        self.config = config
        self.progress = progress
        self._index: LoadedIndex | None = None
        self._lock = threading.Lock()

    @property
    def encoder(self):
        from .encoder import get_encoder

        return get_encoder(self.settings)

    @property
    def index(self) -> LoadedIndex:
        """The loaded index; (re)built first when missing or stale and documents are known."""
        with self._lock:
            if self._index is None:
                self._index = self._open()
            return self._index

    def _open(self) -> LoadedIndex:
        loaded = self.store.load() if self.documents is None else self._load_or_none()
        if self.documents is not None and (loaded is None or self._stale(loaded)):
            loaded = build_from_files(self.documents, self.store, self.encoder, self.config,
                                      progress=self.progress)
        if loaded is None:
            raise IndexMismatchError(f"{self.store.folder} holds no index; run `qa build`")
        expected = model_settings(self.encoder)
        if loaded.manifest["model"] != expected:
            raise IndexMismatchError(
                f"{self.store.folder} was built with model {loaded.manifest['model']['name']!r}, "
                f"not {expected['name']!r}; rebuild it with `qa build`"
            )
        return loaded

    def _load_or_none(self) -> LoadedIndex | None:
        from .errors import IndexCorruptError

        try:
            return self.store.load()
        except IndexCorruptError:
            return None  # rebuilt from the documents

    def _stale(self, loaded: LoadedIndex) -> bool:
        manifest = loaded.manifest
        files = find_documents(self.documents)
        return (manifest.get("corpus_hash") != files_hash(files)
                or manifest.get("config") != self.config.to_json()
                or manifest.get("model") != model_settings(self.encoder))

    def reload(self) -> None:
        """Forget the loaded index; the next question loads (or rebuilds) it again."""
        with self._lock:
            self._index = None

    def prepare(self, question: str, history: list[str] | None = None) -> Question:
        """Clean ``question`` (see :func:`clean_question`) and tokenise it for keywords."""
        text = clean_question(question)
        return Question(text, tuple(tokenize(text, self.config.unigrams)))

    def rank(self, question: Question, k: int = 10, vector: np.ndarray | None = None) -> list[Ranked]:
        """The ranking shared by :meth:`retrieve` and ``qa eval``: best ``k`` rows, no cut-off."""
        index = self.index
        if vector is None:
            vector = self.encoder.encode_queries([question.text])[0]
        n = len(index.records)
        if n == 0:
            return []
        dense_scores, dense_rows = index.dense.search(vector[None, :], CANDIDATES)
        keyword_scores = index.keyword.scores(list(question.tokens))
        rows = set(int(r) for r in dense_rows[0] if r >= 0)
        if keyword_scores.any():
            top = np.argpartition(-keyword_scores, min(CANDIDATES, n) - 1)[:CANDIDATES]
            rows.update(int(r) for r in top if keyword_scores[r] > 0)
        candidates = np.fromiter(sorted(rows), dtype=np.int64)
        vectors = index.dense.vectors_at(candidates)
        fused = fusion.combine(vectors @ vector, keyword_scores[candidates])
        order = np.argsort(-fused, kind="stable")[:k]
        return [Ranked(int(candidates[i]), float(fused[i])) for i in order]

    def retrieve(self, question: str, k: int = 5, history: list[str] | None = None) -> list[Passage]:
        """The ``k`` passages that best answer ``question``.

        Args:
            question: the question, any language; cut to 1,000 characters.
            k: how many passages, 1..100 (default 5).
            history: the user's earlier questions in the same chat, oldest first.
        Returns:
            Passages, best first.
        Raises:
            ValueError: empty question or ``k`` out of range.
        """
        k = check_k(k)
        question = self.prepare(question, history)
        return [self._passage(self.index.records[r.row], r.score) for r in self.rank(question, k)]

    @staticmethod
    def _passage(record: Record, score: float) -> Passage:
        return Passage(id=record.id, text=record.text, score=round(max(0.0, min(1.0, score)), 4),
                       source=record.source, title=record.title, start=record.start,
                       end=record.end, section=record.section)

"""Answering questions from an index: :class:`Retriever` and its one ranking."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import calibration, fusion
from .config import Settings
from .chunking import script_of
from .documents import find_documents
from .errors import IndexCorruptError, IndexMismatchError
from .indexer import (IndexConfig, background_scripts, build_from_files, files_hash,
                      model_settings)
from .followup import resolve
from .lexical import query_tokens, tokenize
from .passage import Passage, Record
from .store import IndexStore, LoadedIndex

MAX_K = 100
MAX_QUESTION_CHARS = 1000
_SCRIPTS = {"cjk": 0, "latin": 1}
ANSWER_KEYWORD_WEIGHT = 0.2


@dataclass(frozen=True)
class Question:
    """A question ready to rank: the text to embed (with the context of a follow-up), its
    keyword tokens, and the question as asked."""

    text: str
    tokens: tuple[str, ...]
    asked: str = ""


@dataclass(frozen=True)
class Ranked:
    """One ranked passage: index row, fused score, best sentence (row in the sentence index)."""

    row: int
    score: float
    sentence: int = -1


def clean_question(question) -> str:
    """The question stripped of control characters and cut to ``MAX_QUESTION_CHARS``.

    Raises:
        ValueError: not a string, or empty / white space only.
    """
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, not {type(question).__name__}")
    text = question[: MAX_QUESTION_CHARS * 4].encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if not text:
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


class _Arrays:
    """Per-index arrays the ranking needs, derived once after loading."""

    def __init__(self, index: LoadedIndex):
        self.passages = index.dense.vectors()
        self.sentences = index.sentences.vectors()
        owners = index.sentence_spans[:, 0] if len(index.sentence_spans) else np.zeros(0, int)
        self.owners = owners
        self.first_sentence = np.searchsorted(owners, np.arange(len(index.records)))
        self.has_sentence = np.isin(np.arange(len(index.records)), owners)
        self.groups = np.array([_SCRIPTS.get(r.script, 1) for r in index.records], dtype=np.int8)
        self.background = index.background
        self.background_groups = background_scripts()

    def baseline(self, vector: np.ndarray) -> np.ndarray:
        """Per passage: the question's mean cosine to background text in the passage's script."""
        cosines = self.background @ vector
        means = np.array([cosines[self.background_groups == g].mean() for g in (0, 1)])
        return means[self.groups]

    def sentence_max(self, sentence_scores: np.ndarray, passage_scores: np.ndarray) -> np.ndarray:
        """Best sentence score per passage (the passage's own score when it has none)."""
        best = passage_scores.copy()
        if len(sentence_scores):
            starts = self.first_sentence[self.has_sentence]
            best[self.has_sentence] = np.maximum.reduceat(sentence_scores, starts)
        return best


class Retriever:
    """Retrieval over one index folder, built from ``documents`` when missing or stale.

    Args:
        index_dir: the index folder (``embeddings/<name>``).
        documents: files or folders the index is built from; ``None`` for an index that
            is only opened (an eval corpus, or one built with ``qa build``).
        settings: model and paths (default: from the environment).
        config: chunking and keyword settings.
        recipe: fusion parameters.
        progress: show a progress bar while embedding.
    """

    def __init__(self, index_dir: str | Path, documents: list[str | Path] | None = None,
                 settings: Settings | None = None, config: IndexConfig = IndexConfig(),
                 recipe: fusion.Recipe = fusion.Recipe(), progress: bool = True):
        self.store = IndexStore(Path(index_dir))
        self.documents = [Path(p) for p in documents] if documents is not None else None
        self.settings = settings or Settings.from_env()
        self.config = config
        self.recipe = recipe
        self.progress = progress
        self._index: LoadedIndex | None = None
        self._arrays: _Arrays | None = None
        self._lock = threading.Lock()

    @property
    def encoder(self):
        from .encoder import get_encoder

        return get_encoder(self.settings)

    @property
    def index(self) -> LoadedIndex:
        """The loaded index; (re)built first when missing or stale and documents are known."""
        return self._loaded()[0]

    def _loaded(self) -> tuple[LoadedIndex, _Arrays]:
        with self._lock:
            if self._index is None:
                self._index = self._open()
                self._arrays = _Arrays(self._index)
            return self._index, self._arrays

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
        try:
            return self.store.load()
        except IndexCorruptError:
            return None  # rebuilt from the documents

    def _stale(self, loaded: LoadedIndex) -> bool:
        manifest = loaded.manifest
        return (manifest.get("corpus_hash") != files_hash(find_documents(self.documents))
                or manifest.get("config") != self.config.to_json()
                or manifest.get("model") != model_settings(self.encoder))

    def reload(self) -> None:
        """Forget the loaded index; the next question loads (or rebuilds) it again."""
        with self._lock:
            self._index = None
            self._arrays = None

    def prepare(self, question: str, history: list[str] | None = None) -> Question:
        """Clean ``question`` (see :func:`clean_question`), resolve it against ``history`` when
        it is a follow-up (:mod:`qa.followup`) and tokenise it for keywords."""
        asked = clean_question(question)
        earlier = []
        for item in history or []:
            try:
                earlier.append(clean_question(item))
            except ValueError:
                continue
        text = resolve(asked, earlier)
        return Question(text, tuple(query_tokens(text, self.config.unigrams)), asked)

    def evidence(self, question: Question, vector: np.ndarray | None = None) -> fusion.Evidence:
        """Every passage's dense and keyword evidence and fused score for ``question``."""
        index, arrays = self._loaded()
        if vector is None:
            vector = self.encoder.encode_queries([question.text])[0]
        passage_cos = arrays.passages @ vector
        sentence_cos = arrays.sentences @ vector
        tokens = list(question.tokens)
        return fusion.gather(passage_cos, arrays.sentence_max(sentence_cos, passage_cos),
                             sentence_cos, index.keyword.scores(tokens),
                             index.keyword.upper_bound(tokens), arrays.groups,
                             arrays.baseline(vector), _SCRIPTS[script_of(question.text)],
                             self.recipe)

    def rank(self, question: Question, k: int = 10, vector: np.ndarray | None = None) -> list[Ranked]:
        """The ranking shared by :meth:`retrieve` and ``qa eval``: best ``k`` rows, no cut-off."""
        index = self.index
        if not index.records:
            return []
        fused = self.evidence(question, vector).fused
        k = min(k, len(fused))
        top = np.argpartition(-fused, k - 1)[:k]
        top = top[np.argsort(-fused[top], kind="stable")]
        return [Ranked(int(row), float(fused[row])) for row in top]

    def retrieve(self, question: str, k: int = 5, history: list[str] | None = None) -> list[Passage]:
        """The ``k`` passages that best answer ``question``.

        Args:
            question: the question, any language; cut to 1,000 characters.
            k: how many passages, 1..100 (default 5).
            history: the user's earlier questions in the same chat, oldest first.
        Returns:
            Up to ``k`` passages, best first, each scored with the calibrated probability that
            it answers the question; passages below the calibrated threshold are left out, so
            the list is empty when nothing answers ("not found").
        Raises:
            ValueError: empty question or ``k`` out of range.
        """
        k = check_k(k)
        question = self.prepare(question, history)
        index, arrays = self._loaded()
        if not index.records:
            return []
        vector = self.encoder.encode_queries([question.text])[0]
        evidence = self.evidence(question, vector)
        fused = evidence.fused
        k = min(k, len(fused))
        top = np.argpartition(-fused, k - 1)[:k]
        top = top[np.argsort(-fused[top], kind="stable")]
        chances = calibration.probabilities(evidence, top)
        keep = chances >= calibration.threshold()  # "not found" when none is kept
        return [self._passage(index.records[row], float(chance),
                              self._answer_span(int(row), question, evidence.sentence_cos))
                for row, chance in zip(top[keep], chances[keep])]

    def _answer_span(self, row: int, question: Question, sentence_cos: np.ndarray) -> tuple[int, int]:
        """Span in the passage text of the sentence that best answers ``question``: the highest
        sentence cosine plus the idf-weighted share of the question's keywords it contains."""
        index, arrays = self._loaded()
        start = arrays.first_sentence[row]
        stop = arrays.first_sentence[row + 1] if row + 1 < len(index.records) else len(arrays.owners)
        if stop <= start:
            return 0, len(index.records[row].text)
        text = index.records[row].text
        frequencies = index.keyword.document_frequency(list(question.tokens))
        n = max(len(index.records), 1)
        weights = {t: np.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequencies.items()}
        total = sum(weights.values()) or 1.0
        best, best_score = start, -np.inf
        for i in range(start, stop):
            _, a, b = index.sentence_spans[i]
            found = set(tokenize(text[a:b], self.config.unigrams))
            share = sum(w for t, w in weights.items() if t in found) / total
            score = sentence_cos[i] + ANSWER_KEYWORD_WEIGHT * share
            if score > best_score:
                best, best_score = i, score
        _, a, b = index.sentence_spans[best]
        return int(a), int(b)

    @staticmethod
    def _passage(record: Record, score: float, answer: tuple[int, int]) -> Passage:
        return Passage(id=record.id, text=record.text, score=round(float(score), 4),
                       source=record.source, title=record.title, start=record.start,
                       end=record.end, section=record.section, answer_start=answer[0],
                       answer_end=answer[1])

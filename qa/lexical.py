"""Keyword retrieval that works for Chinese: a tokenizer plus BM25 scored by ``bm25s``.

Tokens (:func:`tokenize`): the text is folded by :func:`qa.text.normalize` (NFKC, lower case,
Traditional -> Simplified Chinese), so both scripts match each other. Runs of Han ideographs
(:data:`qa.text.IDEOGRAPHS`) give their character bigrams (and single characters when
``unigrams``); Latin words and numbers are kept whole (``3.5`` stays one token), English stop
words are dropped. Questions also lose their interrogatives (:func:`query_tokens`), and a token
they say again weighs more, saturating (:func:`query_weights`).
BM25's idf is :func:`idf`. The index is saved by ``bm25s`` as ``.npy`` + JSON, never pickle.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from .bm25_matrix import lucene_scores
from .errors import IndexCorruptError, MissingDependencyError
from .text import IDEOGRAPHS, normalize

TOKENIZER_VERSION = 1
_TOKEN_RE = re.compile(
    rf"(?P<cjk>[{IDEOGRAPHS}]+)"
    r"|(?P<num>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)?)"
)
EN_STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have he her his i if in into is it its of on or "
    "she so that the their them then there these they this to was were which who whom whose with "
    "what when where why how did do does you your we our".split()
)


QUESTION_WORDS = re.compile(r"[什么哪谁几怎吗呢啥]|多少|为何|如何|是否")
QUERY_SATURATION = 1.0
"""BM25's ``k3``: a token a question says ``c`` times weighs ``(k3 + 1) c / (k3 + c)`` (1, 1.33,
1.5, ... at most 2). A patient's post repeats what matters (its disease, its drug); counted
once, the repeats were lost, counted in full they drown the rest (``bench/realq.py``)."""


def tokenize(text: str, unigrams: bool = False) -> list[str]:
    """Keyword tokens of ``text`` (see the module docstring). Empty text gives ``[]``."""
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(normalize(text)):
        run = match.group()
        if match.lastgroup == "cjk":
            if unigrams or len(run) == 1:
                tokens.extend(run)
            tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
        elif match.lastgroup == "num":
            tokens.append(run)
        elif run not in EN_STOP_WORDS:
            tokens.append(run)
    return tokens


def query_tokens(text: str, unigrams: bool = False) -> list[str]:
    """Tokens of a question: :func:`tokenize` without interrogatives (什么, 哪, 谁, 多少...),
    each token once."""
    return list(query_weights(text, unigrams))


def query_weights(text: str, unigrams: bool = False) -> dict[str, float]:
    """:func:`query_tokens` with each token's weight: said ``c`` times, it weighs
    ``(k3 + 1) c / (k3 + c)`` with ``k3`` = :data:`QUERY_SATURATION`."""
    counts = Counter(t for t in tokenize(text, unigrams) if not QUESTION_WORDS.search(t))
    k3 = QUERY_SATURATION
    return {token: (k3 + 1) * c / (k3 + c) for token, c in counts.items()}


def idf(document_frequency: int, size: int) -> float:
    """BM25's idf (the form ``bm25s`` scores with): ``log(1 + (N - df + 0.5) / (df + 0.5))``.

    Args:
        document_frequency: how many passages hold the token (0: unknown, the highest idf).
        size: the number of passages ``N``; an empty index counts as one passage.
    Returns:
        The idf, positive (a token in every passage still has ``log(1 + 0.5 / (N + 0.5))``).
    """
    n = max(size, 1)
    return float(np.log(1 + (n - document_frequency + 0.5) / (document_frequency + 0.5)))


SMOOTHING_PASSAGES = 100
"""Passages, holding none of a question's tokens, that the calibration's keyword strength
counts in addition to the collection's (:func:`smoothed_weights`). Not tuned: it only has to
be large next to a few passages and small next to thousands."""


def smoothed_weights(frequencies: dict[str, int], size: int, weights=None) -> dict[str, float]:
    """Query weights under which BM25 takes each token's idf as if the collection held
    :data:`SMOOTHING_PASSAGES` more passages, none with any of the tokens (lengths stay the
    collection's): each token's weight (``weights``, default 1) times
    ``idf(df, N + N0) / idf(df, N)``.

    In a collection of a few passages every token present has a low idf while a question's
    absent tokens keep the highest, so the keyword strength of a plain answer stays low. The
    smoothed idf lifts the tokens a small collection holds more than those it lacks
    (``bench/small_collections.py``); in corpora of thousands it barely moves."""
    weights = weights or {}
    return {t: weights.get(t, 1.0) * idf(df, size + SMOOTHING_PASSAGES) / idf(df, size)
            for t, df in frequencies.items()}


def bm25_bound(frequencies: dict[str, int], size: int, k1: float, weights=None) -> float:
    """The highest BM25 a passage could reach for tokens of these document ``frequencies``:
    ``(k1 + 1) * Σ weight * idf`` (``weights``: token -> weight, default 1)."""
    weights = weights or {}
    total = sum(weights.get(t, 1.0) * idf(df, size) for t, df in frequencies.items())
    return float((k1 + 1) * total)


class KeywordIndex:
    """BM25 over pre-tokenised passages (rows in insertion order)."""

    def __init__(self, bm25, size: int):
        self._bm25 = bm25
        self.size = size

    @staticmethod
    def _module():
        try:
            import bm25s
        except ImportError as exc:
            raise MissingDependencyError("bm25s is missing: pip install bm25s") from exc
        return bm25s

    @classmethod
    def build(cls, token_lists: list[list[str]], k1: float = 1.2,
              b: float = 0.75) -> "KeywordIndex":
        """Index passages given as token lists (see :func:`tokenize`)."""
        vocabulary: dict[str, int] = defaultdict()
        vocabulary.default_factory = vocabulary.__len__  # a new token gets the next id
        ids = [np.fromiter(map(vocabulary.__getitem__, tokens), dtype=np.int32,
                           count=len(tokens)) for tokens in token_lists]
        return cls.build_from_ids(ids, dict(vocabulary), k1, b)

    @classmethod
    def build_from_ids(cls, ids: list[np.ndarray], vocabulary: dict[str, int], k1: float = 1.2,
                       b: float = 0.75) -> "KeywordIndex":
        """Index passages given as arrays of token ids (``vocabulary``: token -> id, ids
        ``0..len-1``); compact enough for millions of passages.

        The scores are bm25s's own (Lucene BM25, its matrix and file format: the index is a
        ``bm25s.BM25``), computed here for the whole corpus at once with numpy instead of
        bm25s's loop over passages (:func:`qa.bm25_matrix.lucene_scores`)."""
        bm25s = cls._module()
        bm25 = bm25s.BM25(k1=k1, b=b)
        vocabulary = dict(vocabulary)
        if "" not in vocabulary:  # the token of empty passages
            vocabulary[""] = len(vocabulary)
        empty = np.array([vocabulary[""]], dtype=np.int32)
        size = len(ids)
        ids = [doc if len(doc) else empty for doc in ids] or [empty]
        bm25.scores = lucene_scores(ids, len(vocabulary), k1, b)
        bm25.vocab_dict = vocabulary
        bm25.unique_token_ids_set = set(vocabulary.values())
        bm25.nonoccurrence_array = None  # as bm25s sets it for Lucene BM25
        return cls(bm25, size)

    def scores(self, tokens: list[str], weights=None) -> np.ndarray:
        """BM25 score of every passage for the query ``tokens`` (zeros when none is known),
        each token's score times its weight in ``weights`` (token -> weight, default 1)."""
        vocab, weights = self._bm25.vocab_dict, weights or {}
        known = [(vocab[t], weights.get(t, 1.0)) for t in tokens if t in vocab]
        if not known or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        if all(w == 1.0 for _, w in known):
            ids = [i for i, _ in known]
            return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)[: self.size]
        matrix = self._bm25.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        out = np.zeros(max(self.size, int(matrix["num_docs"])), dtype=np.float32)
        for idx, weight in known:
            start, stop = indptr[idx], indptr[idx + 1]
            out[indices[start:stop]] += np.float32(weight) * data[start:stop]
        return out[: self.size]

    def term_scores(self, terms) -> tuple[np.ndarray, float]:
        """Structured-query BM25 for translated ``terms`` (:class:`qa.bilingual.Term`): per
        passage, the best score among each term's translations, summed over the terms; and the
        highest such sum any passage could reach. Translations with a token no passage holds
        are skipped."""
        total = np.zeros(self.size, dtype=np.float32)
        bound = 0.0
        for term in terms:
            scores, bounds = [], []
            for translation in term.translations:
                frequencies = self.document_frequency(list(translation))
                if min(frequencies.values()) > 0:
                    scores.append(self.scores(list(translation)))
                    bounds.append(self._bound(frequencies))
            if scores:
                total += np.max(scores, axis=0)
                bound += max(bounds)
        return total, bound

    def query(self, tokens: list[str], terms=(), weights=None) -> "KeywordQuery":
        """One question's keyword evidence for the candidate ranking (:mod:`qa.evidence`)."""
        return KeywordQuery(self, list(tokens), tuple(terms or ()), weights)

    def upper_bound(self, tokens: list[str], weights=None) -> float:
        """The highest BM25 any passage could reach: ``(k1 + 1) * Σ weight * idf``
        (:func:`idf`; ``weights`` as in :meth:`scores`), unknown tokens counted at the idf of a
        term no passage contains."""
        return self._bound(self.document_frequency(tokens), weights)

    def _bound(self, frequencies: dict[str, int], weights=None) -> float:
        """:meth:`upper_bound` from the tokens' document frequencies."""
        return bm25_bound(frequencies, self.size, self._bm25.k1, weights)

    def document_frequency(self, tokens: list[str]) -> dict[str, int]:
        """How many passages contain each of ``tokens`` (0 when unknown); repeats count once."""
        indptr = self._bm25.scores["indptr"]
        out = {}
        for token in tokens:
            idx = self._bm25.vocab_dict.get(token)
            out[token] = 0 if idx is None else int(indptr[idx + 1] - indptr[idx])
        return out

    def holders(self, token: str) -> np.ndarray:
        """The rows of the passages that contain ``token``, ascending (empty when unknown):
        read from the index's postings, so it costs the token's document frequency, not the
        corpus size."""
        idx = self._bm25.vocab_dict.get(token)
        if idx is None:
            return np.zeros(0, dtype=np.int64)
        indptr = self._bm25.scores["indptr"]
        rows = np.asarray(self._bm25.scores["indices"][indptr[idx]:indptr[idx + 1]])
        return np.unique(rows[rows < self.size])

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> "KeywordIndex":
        """Load a saved index of ``size`` passages.

        Raises:
            IndexCorruptError: files missing or unreadable.
        """
        try:
            bm25 = cls._module().BM25.load(str(folder), mmap=True, load_corpus=False)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"{folder}: unreadable keyword index ({exc})") from exc
        return cls(bm25, size)


class KeywordQuery:
    """A question's keyword scores, asked for by the candidate ranking: the best rows
    (:meth:`top`, :meth:`term_top` for translated keywords) and the scores at given rows
    (:meth:`at`, :meth:`term_at`). Here every passage is scored once, on first use; the Milvus
    backend answers the same questions with searches (:mod:`qa.milvus_keyword`)."""

    def __init__(self, index: KeywordIndex, tokens: list[str], terms: tuple, weights=None):
        self.index, self.tokens, self.terms, self.weights = index, tokens, terms, weights
        self._scores: np.ndarray | None = None
        self._translated: tuple[np.ndarray, float] | None = None

    def scores(self) -> np.ndarray:
        if self._scores is None:
            self._scores = self.index.scores(self.tokens, self.weights)
        return self._scores

    def translated(self) -> tuple[np.ndarray, float]:
        if self._translated is None:
            self._translated = self.index.term_scores(self.terms)
        return self._translated

    def top(self, k: int) -> np.ndarray:
        return top_nonzero(self.scores(), k)

    def at(self, rows: np.ndarray) -> np.ndarray:
        return self.scores()[rows]

    def term_top(self, k: int) -> np.ndarray:
        return top_nonzero(self.translated()[0], k)

    def term_at(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        scores, bound = self.translated()
        return scores[rows], bound


def top_nonzero(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest nonzero ``scores`` (any order)."""
    rows = np.flatnonzero(scores)  # (argpartition over many tied zeros is slow)
    if len(rows) > k:
        rows = rows[np.argpartition(scores[rows], -k)[-k:]]
    return rows

"""The evidence one question gathers from a loaded index, and its answering sentence."""

from __future__ import annotations

import numpy as np

from . import fusion
from .chunking import script_of
from .indexer import background_scripts
from .lexical import tokenize
from .questions import Question
from .store import LoadedIndex

SCRIPTS = {"cjk": 0, "latin": 1}
ANSWER_KEYWORD_WEIGHT = 0.2


class IndexArrays:
    """Per-index arrays the ranking needs, derived once after loading."""

    def __init__(self, index: LoadedIndex):
        self.passages = index.dense.vectors()
        self.sentences = index.sentences.vectors()
        owners = index.sentence_spans[:, 0] if len(index.sentence_spans) else np.zeros(0, int)
        self.owners = owners
        self.first_sentence = np.searchsorted(owners, np.arange(len(index.records)))
        self.has_sentence = np.isin(np.arange(len(index.records)), owners)
        self.groups = np.array([SCRIPTS.get(r.script, 1) for r in index.records], dtype=np.int8)
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


def gather(index: LoadedIndex, arrays: IndexArrays, question: Question, vector: np.ndarray,
           recipe: fusion.Recipe) -> fusion.Evidence:
    """Every passage's dense and keyword evidence and fused score for ``question``."""
    passage_cos = arrays.passages @ vector
    sentence_cos = arrays.sentences @ vector
    tokens = list(question.tokens)
    question_group = SCRIPTS[script_of(question.text)]
    sentence_best = arrays.sentence_max(sentence_cos, passage_cos)
    return fusion.gather(passage_cos, sentence_best, sentence_cos,
                         index.keyword.scores(tokens), index.keyword.upper_bound(tokens),
                         arrays.groups, arrays.baseline(vector), question_group, recipe)


def keyword_weights(index: LoadedIndex, question: Question) -> dict[str, float]:
    """The idf of each of the question's keywords in this index."""
    frequencies = index.keyword.document_frequency(list(question.tokens))
    n = max(len(index.records), 1)
    return {t: float(np.log(1 + (n - df + 0.5) / (df + 0.5))) for t, df in frequencies.items()}


def answer_span(index: LoadedIndex, arrays: IndexArrays, row: int, sentence_cos: np.ndarray,
                weights: dict[str, float], unigrams: bool = False) -> tuple[int, int]:
    """Span in passage ``row``'s text of the sentence that best answers the question: the
    highest sentence cosine plus ``ANSWER_KEYWORD_WEIGHT`` times the idf-weighted share
    (``weights``, from :func:`keyword_weights`) of the question's keywords it contains. The
    whole text when the passage has no sentence."""
    start = arrays.first_sentence[row]
    stop = arrays.first_sentence[row + 1] if row + 1 < len(index.records) else len(arrays.owners)
    text = index.records[row].text
    if stop <= start:
        return 0, len(text)
    total = sum(weights.values()) or 1.0
    best, best_score = start, -np.inf
    for i in range(start, stop):
        _, a, b = index.sentence_spans[i]
        found = set(tokenize(text[a:b], unigrams))
        share = sum(w for t, w in weights.items() if t in found) / total
        score = sentence_cos[i] + ANSWER_KEYWORD_WEIGHT * share
        if score > best_score:
            best, best_score = i, score
    _, a, b = index.sentence_spans[best]
    return int(a), int(b)

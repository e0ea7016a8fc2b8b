"""The evidence one question gathers from a loaded index (its answering span: :mod:`qa.answers`)."""

from __future__ import annotations

import numpy as np

from . import fusion
from .calibration import background_scripts
from .focus import Passages, focus
from .lexical import idf, smoothed_weights
from .questions import Question
from .store import LoadedIndex
from .text import SCRIPT_CODES, script_of

CANDIDATES = 200
REFERENCE_SAMPLE = 2048


class IndexArrays:
    """Per-index arrays the ranking needs, derived once after loading.

    With a flat dense index every passage and sentence is scored (``exact``). With an inverted
    file (large corpora, :mod:`qa.dense`) only candidates are: the dense index's and the
    keyword index's best :data:`CANDIDATES` each, plus a fixed random sample of
    :data:`REFERENCE_SAMPLE` passages whose scores give the per-script means and deviations.
    """

    def __init__(self, index: LoadedIndex):
        n = len(index.records)
        owners = np.asarray(index.sentence_spans[:, 0]) if len(index.sentence_spans) \
            else np.zeros(0, np.int32)
        self.owners = owners
        self.first_sentence = np.searchsorted(owners, np.arange(n + 1)).astype(np.int64)
        self.sentence_counts = np.diff(self.first_sentence)
        self.has_sentence = self.sentence_counts > 0
        self.groups = np.asarray(index.scripts, dtype=np.int8)
        self.scripts_present = frozenset(int(g) for g in np.unique(self.groups))
        self.background = index.background
        self.background_groups = background_scripts()
        self.exact = index.dense.kind == "flat"
        config = index.manifest.get("config", {})
        self.focus_passages = Passages(index.records, index.sentence_spans, self.first_sentence,
                                       bool(config.get("titles")), bool(config.get("unigrams")))
        self.dense = index.dense
        self.sentence_store = index.sentences
        if self.exact:
            self.passages = index.dense.vectors()
            self.sentences = np.asarray(index.sentences, dtype=np.float32)
        else:
            rng = np.random.default_rng(0)
            self.reference = np.sort(rng.choice(n, min(n, REFERENCE_SAMPLE), replace=False))
            self.reference_vectors = index.dense.vectors_at(self.reference)
            rows, vectors = self.sentences_of(self.reference)
            self.reference_sentence_rows, self.reference_sentences = rows, vectors

    def sentences_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sentence rows of passages ``rows`` (in order) and their vectors."""
        starts, counts = self.first_sentence[rows], self.sentence_counts[rows]
        if counts.sum() == 0:
            return np.zeros(0, np.int64), np.zeros((0, self.background.shape[1]), np.float32)
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
        sentence_rows = offsets + np.arange(counts.sum())
        return sentence_rows, np.asarray(self.sentence_store[sentence_rows], dtype=np.float32)

    def other_scripts(self, text: str) -> bool:
        """Whether some passage is in another script than ``text`` (only then can translated
        keywords count, :mod:`qa.fusion` step 4)."""
        return bool(self.scripts_present - {SCRIPT_CODES[script_of(text)]})

    def baseline(self, vector: np.ndarray) -> np.ndarray:
        """Per passage: the question's mean cosine to background text in the passage's script."""
        cosines = self.background @ vector
        means = np.array([cosines[self.background_groups == g].mean()
                          for g in range(len(SCRIPT_CODES))])
        return means[self.groups]

    def sentence_max(self, sentence_scores: np.ndarray, passage_scores: np.ndarray,
                     rows: np.ndarray | None = None) -> np.ndarray:
        """Best sentence score per passage (the passage's own score when it has none);
        ``sentence_scores`` are those of the sentences of ``rows`` (default: all), in order."""
        best = passage_scores.copy()
        has = self.has_sentence if rows is None else self.has_sentence[rows]
        if len(sentence_scores):
            counts = self.sentence_counts[slice(None) if rows is None else rows][has]
            best[has] = np.maximum.reduceat(sentence_scores, np.cumsum(counts) - counts)
        return best


def gather(index: LoadedIndex, arrays: IndexArrays, question: Question, vector: np.ndarray,
           recipe: fusion.Recipe, within: np.ndarray | None = None) -> fusion.Evidence:
    """Every passage's dense and keyword evidence and fused score for ``question`` (passages
    that are not candidates get a fused score of -inf; see :class:`IndexArrays`; the rows
    ``within``, when given, are candidates too, and only they compete in the last step,
    :mod:`qa.focus`)."""
    frequencies = index.keyword.document_frequency(list(question.tokens))
    evidence = _gather(index, arrays, question, vector, recipe, within, frequencies)
    return focus(evidence, arrays.focus_passages, _idf(index, frequencies), len(question.tokens),
                 recipe, within)


def _gather(index: LoadedIndex, arrays: IndexArrays, question: Question, vector: np.ndarray,
            recipe: fusion.Recipe, within: np.ndarray | None,
            frequencies: dict[str, int]) -> fusion.Evidence:
    """:func:`gather` before its last step (``frequencies``: the question tokens' document
    frequencies)."""
    tokens, weights = list(question.tokens), dict(question.weights)
    question_group = SCRIPT_CODES[script_of(question.text)]
    bound = index.keyword.upper_bound(tokens, weights)
    calibration_weights = smoothed_weights(frequencies, index.keyword.size, weights)
    smoothed_bound = index.keyword.upper_bound(tokens, calibration_weights)
    baseline = arrays.baseline(vector)
    if arrays.exact:
        bm25 = index.keyword.scores(tokens, weights)
        translated = index.keyword.term_scores(question.terms) if question.terms else None
        passage_cos = arrays.passages @ vector
        sentence_cos = arrays.sentences @ vector
        sentence_best = arrays.sentence_max(sentence_cos, passage_cos)
        return fusion.combine(passage_cos, sentence_best, sentence_cos, bm25, bound,
                              arrays.groups, baseline, question_group, recipe,
                              translated=translated, question_tokens=len(tokens),
                              smoothed=(index.keyword.scores(tokens, calibration_weights),
                                        smoothed_bound))
    keywords = index.keyword.query(tokens, question.terms, weights)
    smoothed_keywords = index.keyword.query(tokens, (), calibration_weights)
    return _gather_candidates(index, arrays, vector, keywords, bound, baseline,
                              question_group, recipe, len(tokens), within,
                              smoothed_keywords, smoothed_bound)


def _gather_candidates(index, arrays, vector, keywords, bound, baseline, question_group,
                       recipe, question_tokens, within, smoothed_keywords, smoothed_bound):
    """:func:`gather` over candidates: the dense index's and the keyword side's best
    :data:`CANDIDATES` (``keywords``: a :class:`qa.lexical.KeywordQuery` or the Milvus
    backend's), the rows ``within`` and the reference sample. ``smoothed_keywords``: the same
    query under :func:`qa.lexical.smoothed_weights` and ``smoothed_bound`` its bound, for the
    calibration (only scored at those rows)."""
    n = len(index.records)
    _, dense_rows = arrays.dense.search(vector[None, :], CANDIDATES)
    rows = np.union1d(dense_rows[0][dense_rows[0] >= 0], keywords.top(CANDIDATES))
    if within is not None:
        rows = np.union1d(rows, within)
    if keywords.terms:
        rows = np.union1d(rows, keywords.term_top(CANDIDATES))
    rows = np.setdiff1d(rows, arrays.reference, assume_unique=True)
    sentence_rows, sentence_vectors = arrays.sentences_of(rows)
    passage_cos = np.concatenate([arrays.dense.vectors_at(rows) @ vector,
                                  arrays.reference_vectors @ vector])
    sentence_scores = np.concatenate([sentence_vectors @ vector,
                                      arrays.reference_sentences @ vector])
    everything = np.concatenate([rows, arrays.reference])
    sentence_best = arrays.sentence_max(sentence_scores, passage_cos, everything)
    reference = np.arange(len(rows), len(everything))
    candidate_translated = keywords.term_at(everything) if keywords.terms else None
    part = fusion.combine(passage_cos, sentence_best, sentence_scores, keywords.at(everything),
                          bound, arrays.groups[everything], baseline[everything],
                          question_group, recipe, reference, candidate_translated,
                          question_tokens, (smoothed_keywords.at(everything), smoothed_bound))
    full = {name: np.full(n, np.nan, dtype=np.float32)
            for name in ("passage_cos", "sentence_best", "keyword", "cross", "translated",
                         "smoothed_keyword")}
    fused = np.full(n, -np.inf, dtype=np.float32)
    fused[everything] = part.fused
    for name, array in full.items():
        array[everything] = getattr(part, name)
    sentence_cos = np.zeros(len(arrays.owners), dtype=np.float32)  # untouched pages cost nothing
    sentence_cos[np.concatenate([sentence_rows, arrays.reference_sentence_rows])] = \
        part.sentence_cos
    return fusion.Evidence(full["passage_cos"], full["sentence_best"], sentence_cos,
                           full["keyword"], fused, baseline, full["cross"], full["translated"],
                           full["smoothed_keyword"], np.sort(everything))


def keyword_weights(index: LoadedIndex, question: Question) -> dict[str, float]:
    """The idf (:func:`qa.lexical.idf`) of each of the question's keywords in this index."""
    return _idf(index, index.keyword.document_frequency(list(question.tokens)))


def _idf(index: LoadedIndex, frequencies: dict[str, int]) -> dict[str, float]:
    return {t: idf(df, len(index.records)) for t, df in frequencies.items()}


def term_weights(index: LoadedIndex, question: Question) -> list[tuple[float, tuple]]:
    """The question's translated words (:class:`qa.bilingual.Term`) this index holds, as
    ``(weight, translations)``: only the translations whose every token some passage holds,
    weighted by the largest idf sum among them; words with none are left out."""
    tokens = sorted({t for term in question.terms for tr in term.translations for t in tr})
    if not tokens:
        return []
    frequencies = index.keyword.document_frequency(tokens)
    size = len(index.records)
    out = []
    for term in question.terms:
        held = tuple(tr for tr in term.translations
                     if tr and all(frequencies[t] > 0 for t in tr))
        if held:
            out.append((max(sum(idf(frequencies[t], size) for t in tr) for tr in held), held))
    return out

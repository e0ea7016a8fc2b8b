"""Combining dense and keyword evidence into one ranking score per passage.

The recipe (tuned on the dev halves of ``../shared/bench``; figures in the README):

1. **Dense, two granularities.** ``c_p`` = cosine of the question to the passage, ``c_s`` = the
   best cosine to any single sentence of the passage. Sentences are precise where the passage
   vector is diluted; the passage vector carries context. The passage counts 0.3 and the
   sentence 0.7; for a passage in another script than the question 0.6 and 0.4 (single
   cross-lingual sentence matches are noisier).
2. **Per-script standardisation.** Each dense score is turned into a z-score against the
   passages *of the same script* (CJK or Latin): a multilingual model scores same-language text
   higher across the board, so comparing raw cosines punishes the other language. Scripts with
   fewer than ``min_group`` passages are standardised with the whole corpus. The deviation is
   floored at ``min_spread = 0.013``: a group of near-identical passages (an uploaded flood of
   boilerplate pages) has a tiny spread (0.002-0.0065 measured on such floods next to the
   seed), which turned noise into z-scores above real answers and drowned the keyword
   evidence. Real corpora spread more: per dev question and script, 0.009-0.022 (minimum to
   median over the seven dev sets, meddialog_zh and the seed's on-topic questions). A sweep
   of 0-0.02 on the dev halves (the ``spread`` grid in docs/quality.md): up to 0.013 no set
   moves, 0.015 moves a few questions either way (it lost on xquad_en2zh when chosen, gains
   there now), 0.02 costs several sets (meddialog_zh most).
3. **Keyword evidence only when it is real.** BM25 is divided by the best score the question
   could reach (``(k1 + 1) * Σ idf`` over all its tokens, unknown tokens at the highest idf), so
   a question that shares no words with the corpus (English over Chinese) gets ~0 and cannot
   push down a good dense match; a floor removes the noise of incidental bigrams.
4. **Translated keywords across scripts.** The question's words translated by dictionary
   (:mod:`qa.bilingual`) are scored as a structured BM25 query, divided by their own reachable
   bound like step 3, and count only for passages in another script than the question: the
   missing keyword evidence of English questions over Chinese text and the reverse.

``score = w_p * z(c_p) + (1 - w_p) * z(c_s) + w_k * max(0, bm25 / bound - floor)
+ w_t * cross * bm25_t / bound_t``
with ``w_p = 0.3`` (0.6 across scripts), ``w_k = 20``, ``floor = 0.03``, grid-searched on the
dev halves (``bench/grid.py``, figures in docs/quality.md; w_p 0.4 / 0.5 until phrase
translation, after which 0.3 / 0.6 gained xquad_en2zh 0.013 recall@1, the other sets within
0.002), and ``w_t = 8`` (grid
4-16 on xquad_en2zh and xquad_zh2halfen, the dev sets whose answers lie in the other script:
recall@1 0.779 -> 0.846 and 0.773 -> 0.859 with the first 8-bit export; the other sets do not
move).
5. **Long questions.** A real user's post (symptoms, history, then the question: meddialog_zh,
   median 41 keyword tokens) is answered by a passage that matches it
   as a whole, not by one sentence, and shares only a small part of its many bigrams: the
   answer's BM25 share is ~0.015 (median), under the floor, so the keyword evidence vanished,
   and the best single sentence (recall@1 0.17 alone) outweighed the passage (0.24 alone).
   From ``long_from`` keyword tokens (:func:`length_share` = 0) to ``long_to`` (1 and more),
   ``w_p``, ``w_k`` and ``floor`` move linearly to ``long_passage_weight = 0.9``,
   ``long_keyword_weight = 80`` and ``long_keyword_floor = 0`` (same-script passages; the
   cross-script ``w_p`` stays). meddialog_zh dev recall@1 / MRR@10 0.220 / 0.265 -> 0.281 /
   0.317 (floor 0 alone: 0.241 / 0.286; ``w_p = 0.9`` alone: 0.247 / 0.286); the seven
   SQuAD-style sets lose nothing (drcd gains 0.001): their questions past 20 tokens have
   strong evidence either way. Grids: ``bench/grid.py``
   (``long``, ``long_span``); the suspects: ``bench/realq.py``. A post also repeats what
   matters (its disease, its drug): a token said ``c`` times weighs ``2c / (1 + c)`` in the
   keyword evidence and its bound (:func:`qa.lexical.query_weights`): meddialog_zh dev
   0.2736 / 0.3142 -> 0.2794 / 0.3209 (each once before; in full 0.2659 / 0.3130); the other
   sets do not move.

6. **Where the keywords are.** The best ``focus_depth = 10`` passages gain the idf-weighted
   share of the question's keywords their best sentence holds plus the share the passage holds
   (weights 1 and 1; :mod:`qa.focus`, which also says how passages in another script and long
   questions are treated). BM25 saturates and length-normalises, so a passage that states the
   asked fact in one sentence and one that mentions its words here and there scored alike.
   Dev figures: ``bench/focus.py`` and docs/quality.md.

Traditional Chinese is embedded as Simplified (``IndexConfig.simplify``), where the model is
stronger; the keyword side maps both scripts to Simplified too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Recipe:
    """Fusion parameters (see the module docstring)."""

    passage_weight: float = 0.3
    keyword_weight: float = 20.0
    keyword_floor: float = 0.03
    min_group: int = 20
    min_spread: float = 0.013  # floor under a group's deviation of cosines (step 2)
    cross_passage_weight: float | None = 0.6  # w_p for passages in another script
    dense_weight: float = 1.0  # 0 ranks by keywords alone (for measurements)
    translation_weight: float = 8.0
    long_from: int = 20  # keyword tokens where a question starts to count as long (step 5)
    long_to: int = 30  # ... and where it is fully long
    long_passage_weight: float = 0.9
    long_keyword_weight: float = 80.0
    long_keyword_floor: float = 0.0
    focus_depth: int = 10  # the best passages weighed again by where the keywords are (step 6)
    focus_sentence_weight: float = 1.0
    focus_passage_weight: float = 1.0


def length_share(tokens: int, recipe: Recipe) -> float:
    """How long a question of ``tokens`` keyword tokens counts (step 5): 0 up to
    ``recipe.long_from``, 1 from ``recipe.long_to``, linear between."""
    span = max(recipe.long_to - recipe.long_from, 1)
    return float(min(max((tokens - recipe.long_from) / span, 0.0), 1.0))


def for_length(recipe: Recipe, tokens: int) -> Recipe:
    """``recipe`` with the same-script passage weight, keyword weight and keyword floor of a
    question of ``tokens`` keyword tokens (step 5); ``recipe`` itself for short questions."""
    share = length_share(tokens, recipe)
    if share == 0.0:
        return recipe

    def mix(short: float, long: float) -> float:
        return (1.0 - share) * short + share * long

    return replace(recipe, passage_weight=mix(recipe.passage_weight, recipe.long_passage_weight),
                   keyword_weight=mix(recipe.keyword_weight, recipe.long_keyword_weight),
                   keyword_floor=mix(recipe.keyword_floor, recipe.long_keyword_floor))


def standardise_by_group(scores: np.ndarray, groups: np.ndarray, min_group: int,
                         reference: np.ndarray | None = None,
                         min_spread: float = 0.0) -> np.ndarray:
    """z-scores of ``scores`` within each group id of ``groups`` (small groups: overall), with
    means and deviations taken over the ``reference`` positions (default: all); a deviation
    below ``min_spread`` counts as ``min_spread`` (step 2 of the recipe)."""
    ref_scores = scores if reference is None else scores[reference]
    ref_groups = groups if reference is None else groups[reference]
    out = np.empty_like(scores, dtype=np.float32)

    def spread(values: np.ndarray) -> float:
        return max(float(values.std()), min_spread) or 1.0

    overall_mean, overall_std = float(ref_scores.mean()), spread(ref_scores)
    for group in np.unique(groups):
        mask = groups == group
        in_reference = ref_scores[ref_groups == group]
        if len(in_reference) >= min_group:
            mean, std = float(in_reference.mean()), spread(in_reference)
        else:
            mean, std = overall_mean, overall_std
        out[mask] = (scores[mask] - mean) / std
    return out


def keyword_strength(bm25: np.ndarray, bound: float, floor: float) -> np.ndarray:
    """BM25 as a share of the question's best reachable score, minus ``floor``, at least 0."""
    if bound <= 0:
        return np.zeros_like(bm25, dtype=np.float32)
    return np.maximum(bm25 / bound - floor, 0.0).astype(np.float32)


@dataclass(frozen=True)
class Evidence:
    """What the ranking knows about every passage for one question (arrays by passage row,
    except ``sentence_cos``, by sentence row). ``baseline`` is the question's mean cosine to
    unrelated background text in each passage's script and ``cross`` is 1 where the passage's
    script differs from the question's (both used by :mod:`qa.calibration`). ``translated``:
    the translated keywords' strength (step 4 of the recipe). ``smoothed_keyword``: the keyword
    strength the calibration weighs, BM25 and bound as if the collection held
    :data:`qa.lexical.SMOOTHING_PASSAGES` more passages (:func:`qa.lexical.smoothed_weights`).
    ``rows``: the only passages scored, when not all are (large corpora)."""

    passage_cos: np.ndarray
    sentence_best: np.ndarray
    sentence_cos: np.ndarray
    keyword: np.ndarray
    fused: np.ndarray
    baseline: np.ndarray
    cross: np.ndarray
    translated: np.ndarray
    smoothed_keyword: np.ndarray
    rows: np.ndarray | None = None  # the scored passages (sorted) when not all are


def combine(passage_cos: np.ndarray, sentence_best: np.ndarray, sentence_cos: np.ndarray,
            bm25: np.ndarray, bound: float, groups: np.ndarray, baseline: np.ndarray,
            question_group: int, recipe: Recipe = Recipe(),
            reference: np.ndarray | None = None,
            translated: tuple[np.ndarray, float] | None = None,
            question_tokens: int = 0,
            smoothed: tuple[np.ndarray, float] | None = None) -> Evidence:
    """One question's dense and keyword scores combined into fused scores (the formula in the
    module docstring). :func:`qa.evidence.gather` collects the inputs from an index.

    Args:
        passage_cos, sentence_best, bm25, baseline: per passage; ``sentence_cos`` per sentence.
        bound: the question's reachable BM25 (:meth:`qa.lexical.KeywordIndex.upper_bound`).
        groups: each passage's script code (:data:`qa.text.SCRIPT_CODES`); ``question_group``
            the question's.
        recipe: the fusion parameters.
        reference: the positions z-scores are taken against (default: all passages).
        translated: the translated keywords' BM25 per passage and its reachable bound
            (:mod:`qa.bilingual`), or ``None``.
        question_tokens: how many keyword tokens the question has (step 5).
        smoothed: BM25 per passage and reachable bound under
            :func:`qa.lexical.smoothed_weights`, for the calibration (:func:`qa.evidence.gather`
            always gives them); ``None``: ``bm25`` and ``bound`` themselves.
    Returns:
        The :class:`Evidence` (``rows`` left ``None``).
    """
    cross = groups != question_group
    cross_weight = recipe.passage_weight if recipe.cross_passage_weight is None \
        else recipe.cross_passage_weight  # before step 5: the cross-script weight stays
    recipe = for_length(recipe, question_tokens)
    weight = np.where(cross, cross_weight, recipe.passage_weight)
    dense = weight * standardise_by_group(passage_cos, groups, recipe.min_group, reference,
                                          recipe.min_spread)
    dense += (1 - weight) * standardise_by_group(sentence_best, groups, recipe.min_group,
                                                 reference, recipe.min_spread)
    keyword = keyword_strength(bm25, bound, recipe.keyword_floor)
    bridged = np.zeros_like(keyword) if translated is None else \
        keyword_strength(translated[0], translated[1], 0.0) * cross
    fused = recipe.dense_weight * dense + recipe.keyword_weight * keyword
    fused += recipe.translation_weight * bridged
    smoothed_keyword = keyword if smoothed is None else \
        keyword_strength(smoothed[0], smoothed[1], recipe.keyword_floor)
    return Evidence(passage_cos, sentence_best, sentence_cos, keyword, fused, baseline,
                    cross.astype(np.float32), bridged, smoothed_keyword)

"""What the answering span is chosen from: features of each sentence of a passage, given the
question (:func:`sentence_features`), weighed by :func:`qa.answers.answer_span`.

The features (:data:`FEATURES`), per sentence:

- ``cosine``: the question's cosine to the sentence, and ``cosine_gap``: the same minus the
  passage's best sentence cosine;
- ``keywords``: the idf-weighted share of the question's keywords the sentence holds, and
  ``distinct_keywords``: the same with each keyword's idf divided by the number of the
  passage's sentences holding it, so that the passage's topic (a name in every sentence) counts
  less than the word only the answering sentence repeats (主角, 成分, 叶柄);
- ``question_chars``: the share of the question's ideographs found in the sentence;
- ``previous_distinct``, ``next_distinct``: ``distinct_keywords`` of the neighbours (an answer
  often follows the sentence that restates the question);
- ``log_chars``, ``first``: its length and whether it opens the passage (a definition, which
  matches the question's topic but seldom its answer);
- ``number_cue``, ``date_cue``: the question asks for a quantity (多少, how many) or a time
  (何时, when) and the sentence holds a number or a date;
- ``cross_cosine``, ``cross_keywords``: ``cosine`` and ``keywords`` again when the question is
  in another script than the passage (cross-lingual cosines are weaker evidence);
- ``translated``, ``distinct_translated``: ``keywords`` and ``distinct_keywords`` for the
  question's words translated into the passage's language (:mod:`qa.bilingual`, the terms
  :func:`qa.evidence.term_weights` keeps): a word counts as held when the sentence holds every
  token of one of its translations. An English question's own keywords are rarely in a Chinese
  sentence, so without these the span of a passage in another script was chosen by cosine
  alone;
- ``beyond_opening``: the share of the question's keywords (each counted once, unweighted) that
  the sentence holds, among those the passage's opening sentence does not hold. An
  encyclopedic passage names its subject once, in its opening, and then writes 本鱼, 其 or
  nothing (体长可达50公分。), so the keywords of 黄鳍紫鱼体长多少？ that tell the answering
  sentence apart are the ones the opening lacks; the opening itself gets 0 (``first`` weighs
  it).
"""

from __future__ import annotations

import math
import re

import numpy as np

from .lexical import tokenize
from .text import IDEOGRAPHS, normalize, script_of

FEATURES = ["cosine", "cosine_gap", "keywords", "distinct_keywords", "question_chars",
            "previous_distinct", "next_distinct", "log_chars", "first", "number_cue",
            "date_cue", "cross_cosine", "cross_keywords", "translated", "distinct_translated",
            "beyond_opening"]

ASKS_NUMBER = re.compile(
    r"多少|几|幾|多[久长長大高重远遠深宽寬]|哪一?年|何年|何时|何時|什么时候|什麼時候|甚麼時候|"
    r"百分|比例|数量|數量|人口|面积|面積|how (?:many|much|long|old|far|big|large|tall|high|"
    r"often|wide|deep)|what (?:year|percentage|percent|number|date|time|age|proportion)|"
    r"\bwhen\b|which year|number of", re.IGNORECASE)
"""A question asking for a quantity (or a time, which is written with numbers)."""
ASKS_DATE = re.compile(
    r"何时|何時|什么时候|什麼時候|甚麼時候|哪一?年|哪一天|几月|幾月|何年|年代|哪[个個一]?世[纪紀]|"
    r"\bwhen\b|what (?:year|date|century|decade|time)|which (?:year|century)", re.IGNORECASE)
"""A question asking for a time."""
NUMBER = re.compile(
    r"[0-9０-９]|[零〇一二三四五六七八九十百千万亿两萬億兩]{2,}|"
    r"[一二三四五六七八九十两兩][个個年月日天次岁歲名位种種人项項条條座家倍成]|"
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|dozen)\b", re.IGNORECASE)
"""A number, in digits, Chinese numerals or English words."""
DATE = re.compile(
    r"[0-9０-９]{3,4}\s*年|[0-9０-９一二三四五六七八九十]+\s*[月日]|世纪|世紀|年代|\b1[0-9]{3}\b|"
    r"\b20[0-9]{2}\b|\b(?:january|february|march|april|may|june|july|august|september|october|"
    r"november|december|century|decade)\b", re.IGNORECASE)
"""A date or a period."""
_IDEOGRAPH_RE = re.compile(f"[{IDEOGRAPHS}]")


def sentence_features(text: str, spans: list[list[int]], cosines: list[float],
                      weights: dict[str, float], question: str,
                      unigrams: bool = False, terms=()) -> np.ndarray:
    """Feature matrix ``(len(spans), len(FEATURES))`` of the sentences ``spans`` of ``text``.

    Args:
        text: the passage's text; ``spans``: its sentences' ``[start, end]``.
        cosines: the question's cosine to each sentence.
        weights: the idf of each of the question's keywords (:func:`qa.evidence.keyword_weights`).
        question: the question's text (for its cues, ideographs and script).
        unigrams: whether the index's keywords include single characters.
        terms: the question's translated words as ``(weight, translations)``
            (:func:`qa.evidence.term_weights`); default none.
    """
    held = [set(tokenize(text[a:b], unigrams)) for a, b in spans]
    count = len(spans)
    distinct = {}
    for token, weight in weights.items():
        holders = sum(token in tokens for tokens in held)
        if holders:
            distinct[token] = weight / holders
    keywords = keyword_shares(held, weights)
    distinct_keywords = keyword_shares(held, distinct)
    translated, distinct_translated = _translated_shares(held, terms)
    beyond_opening = keyword_shares(held, dict.fromkeys(set(weights) - held[0], 1.0)) \
        if held else []
    asked = set(_IDEOGRAPH_RE.findall(normalize(question)))
    numbers, dates = bool(ASKS_NUMBER.search(question)), bool(ASKS_DATE.search(question))
    cross = float(script_of(question) != script_of(text))
    cos = np.asarray(cosines, dtype=float)
    rows = []
    for i, (a, b) in enumerate(spans):
        sentence = text[a:b]
        found = set(_IDEOGRAPH_RE.findall(normalize(sentence))) if asked else set()
        rows.append([
            cos[i], cos[i] - cos.max(), keywords[i], distinct_keywords[i],
            len(asked & found) / len(asked) if asked else 0.0,
            distinct_keywords[i - 1] if i > 0 else 0.0,
            distinct_keywords[i + 1] if i + 1 < count else 0.0,
            math.log1p(b - a), float(i == 0),
            float(numbers and bool(NUMBER.search(sentence))),
            float(dates and bool(DATE.search(sentence))),
            cross * cos[i], cross * keywords[i], translated[i], distinct_translated[i],
            beyond_opening[i]])
    return np.asarray(rows, dtype=float).reshape(count, len(FEATURES))


def keyword_shares(held: list[set[str]], weights: dict[str, float]) -> list[float]:
    """The ``weights``-weighted share of the keywords each token set of ``held`` holds."""
    total = sum(weights.values()) or 1.0
    return [sum(w for t, w in weights.items() if t in tokens) / total for tokens in held]


def _translated_shares(held: list[set[str]], terms) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence, the weighted share of the translated ``terms`` it holds, and the same with
    each term's weight divided by the number of sentences holding it."""
    count = len(held)
    if not terms:
        return np.zeros(count), np.zeros(count)
    weights = np.array([weight for weight, _ in terms], dtype=float)
    holds = np.array([[any(all(t in tokens for t in tr) for tr in translations)
                       for _, translations in terms] for tokens in held],
                     dtype=float).reshape(count, len(terms))
    total = weights.sum() or 1.0
    return holds @ weights / total, holds @ (weights / np.maximum(holds.sum(0), 1)) / total

"""The answering span of a passage (what the chat shows as "答案:"), and how often it holds a
gold answer.

The span (:func:`answer_span`) is built from whole sentences of the passage. A conditional
logit over the sentences' features (:mod:`qa.span_features`) and their pairwise products
(:func:`span_terms`; coefficients in
``span_model.json`` beside this file, fitted by ``bench/answers.py`` on the dev halves of the
benchmarks with answers, 5-fold cross-validated by question) gives each sentence the
probability that it holds the answer. The span starts at the likeliest sentence and takes in
the likelier neighbour, one at a time, while the span holds under ``mass`` of the probability
or is shorter than :data:`WIDEN_CHARS` (three times that for Latin-script passages, whose
sentences hold about three times as many characters for the same content; at most
:data:`WIDEN_SHARE` of the passage), up to :data:`MAX_SENTENCES` and never every sentence of
the passage (a highlight of the whole passage shows nothing).

Measuring (:func:`answer_key`, :func:`holds_answer`, :func:`answer_accuracy`): a span holds an
answer when it contains a gold answer in the passage's language, both folded like keywords
(:func:`qa.text.normalize`) without white space.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .sources import read_jsonl
from .span_features import FEATURES, sentence_features
from .text import normalize, script_of

if TYPE_CHECKING:  # qa.evidence imports this module
    from .evidence import IndexArrays
    from .store import LoadedIndex

WIDEN_CHARS = 60
"""A span shorter than this (in a CJK passage) takes in its likelier neighbour."""
LATIN_CHARS = 3 * WIDEN_CHARS
""":data:`WIDEN_CHARS` for a Latin-script passage."""
WIDEN_SHARE = 0.5
"""The length rule widens a span only while it is under this share of the passage."""
MAX_SENTENCES = 3
"""The most sentences a span holds."""
_MODEL = Path(__file__).with_name("span_model.json")
_SPACE_RE = re.compile(r"\s+")


def span_terms(features: np.ndarray) -> np.ndarray:
    """What the span model weighs: each sentence's features (:data:`FEATURES`, columns), then
    the product of every pair of them, squares included (:data:`TERMS` names them). A cue
    counts differently beside another: a number in a sentence says more when the question asks
    for one and the sentence also holds the words that set it apart."""
    upper = np.triu_indices(features.shape[1])
    products = features[:, :, None] * features[:, None, :]
    return np.hstack([features, products[:, upper[0], upper[1]]])


TERMS = FEATURES + [f"{FEATURES[i]}*{FEATURES[j]}"
                    for i, j in zip(*np.triu_indices(len(FEATURES)))]
"""Names of the :func:`span_terms` columns."""


@functools.lru_cache(maxsize=1)
def span_model() -> dict:
    """The fitted span model: ``terms`` (:data:`TERMS`), their ``coefficients`` and ``mass``."""
    model = json.loads(_MODEL.read_text(encoding="utf-8"))
    if model["terms"] != TERMS:
        raise ValueError(f"{_MODEL} was fitted on other features; rerun bench/answers.py")
    return model


def sentence_probabilities(features: np.ndarray, coefficients) -> np.ndarray:
    """P(sentence holds the answer): :func:`softmax` over the sentences of
    ``span_terms(features) @ coefficients``."""
    terms = span_terms(np.asarray(features, dtype=float))
    return softmax(terms @ np.asarray(coefficients, dtype=float))


def softmax(logits: np.ndarray) -> np.ndarray:
    """``exp(logits)`` scaled to sum to 1."""
    chances = np.exp(logits - logits.max())
    return chances / chances.sum()


def widen(spans: list[list[int]], chances: np.ndarray, chars: float, mass: float,
          most: int = MAX_SENTENCES) -> tuple[int, int]:
    """Sentences ``lo..hi`` around the likeliest one (see the module docstring).

    Args:
        spans: the passage's sentence spans, in text order.
        chances: each sentence's probability of holding the answer.
        chars: the length under which the span always widens.
        mass: the probability the span widens to hold.
        most: the most sentences (1: no widening).
    Returns:
        ``(lo, hi)``, indexes of the first and last sentence, ``hi - lo < most``.
    """
    lo = hi = int(np.argmax(chances))
    held = float(chances[lo])
    while hi - lo + 1 < most and (held < mass or spans[hi][1] - spans[lo][0] < chars):
        neighbours = [(float(chances[j]), j) for j in (lo - 1, hi + 1) if 0 <= j < len(spans)]
        if not neighbours:
            break
        chance, j = max(neighbours)
        held += chance
        lo, hi = min(lo, j), max(hi, j)
    return lo, hi


def answer_span(index: LoadedIndex, arrays: IndexArrays, row: int, sentence_cos: np.ndarray,
                weights: dict[str, float], question: str, unigrams: bool = False,
                model: dict | None = None, terms=()) -> tuple[int, int]:
    """Span in passage ``row``'s text that answers ``question`` (the module docstring).

    Args:
        index, arrays: the loaded index and its arrays (:class:`qa.evidence.IndexArrays`).
        row: the passage's row.
        sentence_cos: the question's cosine to every sentence of the index (only the
            passage's own are read).
        weights: the idf of each of the question's keywords
            (:func:`qa.evidence.keyword_weights`).
        question: the question's text.
        unigrams: whether the index's keywords include single characters.
        model: coefficients and mass (default: :func:`span_model`).
        terms: the question's translated words (:func:`qa.evidence.term_weights`).
    Returns:
        ``(start, end)`` in the passage's text: whole sentences, contiguous; the whole text
        when the passage has no sentence.
    """
    start, stop = arrays.first_sentence[row], arrays.first_sentence[row + 1]
    text = index.records[row].text
    if stop <= start:
        return 0, len(text)
    model = model or span_model()
    spans = np.asarray(index.sentence_spans[start:stop, 1:]).tolist()
    features = sentence_features(text, spans, np.asarray(sentence_cos[start:stop]).tolist(),
                                 weights, question, unigrams, terms)
    chances = sentence_probabilities(features, model["coefficients"])
    script = index.records[row].script or script_of(text)
    chars = min(LATIN_CHARS if script == "latin" else WIDEN_CHARS, WIDEN_SHARE * len(text))
    most = min(MAX_SENTENCES, max(len(spans) - 1, 1))
    lo, hi = widen(spans, chances, chars, model["mass"], most)
    return int(spans[lo][0]), int(spans[hi][1])


# ---- measuring: gold answers and answer accuracy -------------------------------------------

def fold_answer(text: str) -> str:
    """``text`` folded for answer matching: :func:`qa.text.normalize` (NFKC width, case,
    Traditional -> Simplified) without white space."""
    return _SPACE_RE.sub("", normalize(text))


def holds_answer(span: str, answers) -> bool:
    """Whether ``span`` contains one of ``answers`` once both are folded (:func:`fold_answer`);
    empty answers never count."""
    folded = fold_answer(span)
    return any(a and a in folded for a in map(fold_answer, answers))


def answer_key(queries: Path) -> dict[str, dict[str, list[str]]]:
    """Gold answers per query id and script, from ``queries`` and its siblings.

    XQuAD asks the same questions (same ids) in every language, but an answer only counts in
    the passage's language. So the answers of ``queries`` are joined with those of the file of
    the same name in each sibling folder: the folders next to ``queries``'s own whose name
    starts with the same word before ``_`` (``xquad_en2zh`` reads ``xquad_zh``, ``xquad_en``
    and the others). Each row's answers are filed under its question's script
    (:func:`qa.text.script_of`), since a benchmark's answers are in its questions' language.

    Args:
        queries: a ``queries.*.jsonl`` whose rows may carry ``"answers"``.
    Returns:
        ``{query id: {"cjk" | "latin": [answers]}}``, only for ids with answers.
    """
    queries = Path(queries)
    folder = queries.parent
    family = folder.name.split("_")[0]
    siblings = sorted(p for p in folder.parent.glob(f"{family}_*/{queries.name}")
                      if p.parent != folder) if "_" in folder.name else []
    key: dict[str, dict[str, list[str]]] = {}
    for path in [queries, *siblings]:
        file_answers(read_jsonl(path), key)
    return key


def file_answers(rows: list[dict], key: dict | None = None) -> dict[str, dict[str, list[str]]]:
    """The answers of query ``rows`` (``{"id", "text", "answers"}``) filed into ``key`` (a new
    one by default) as :func:`answer_key` does; rows without answers are skipped."""
    key = {} if key is None else key
    for row in rows:
        answers = [a for a in row.get("answers") or [] if isinstance(a, str) and a.strip()]
        if answers:
            filed = key.setdefault(str(row["id"]), {}).setdefault(script_of(row["text"]), [])
            filed.extend(a for a in answers if a not in filed)
    return key


def gold_answers(by_script: dict[str, list[str]], script: str) -> list[str]:
    """The answers in ``script`` (the passage's) of one query's ``by_script`` (an
    :func:`answer_key` value), or all of them when none is in that script."""
    return by_script.get(script) or [a for answers in by_script.values() for a in answers]


@dataclass(frozen=True)
class AnswerOutcome:
    """One question's first passage and its highlighted span.

    Attributes:
        relevant: the first passage is judged relevant.
        holds: the span contains a gold answer in the passage's language.
        span_chars, passage_chars: lengths of the span and of the passage text.
    """

    relevant: bool
    holds: bool
    span_chars: int
    passage_chars: int


def answer_accuracy(outcomes: list[AnswerOutcome]) -> dict:
    """Answer accuracy of ``outcomes`` (one per question with answers).

    Returns:
        ``answer_questions`` (how many), ``answer@1|right`` (among the questions whose first
        passage is relevant, the share whose span holds an answer), ``answer@1`` (the share of
        all of them whose first passage's span holds an answer, relevant or not),
        ``span_chars`` and ``passage_chars`` (means over all). Shares are ``None`` without
        questions.
    """
    right = [o for o in outcomes if o.relevant]
    n = len(outcomes)

    def share(part, whole):
        return round(sum(o.holds for o in part) / len(whole), 4) if whole else None

    return {"answer_questions": n, "answer@1|right": share(right, right),
            "answer@1": share(outcomes, outcomes),
            "span_chars": round(sum(o.span_chars for o in outcomes) / n, 1) if n else None,
            "passage_chars": round(sum(o.passage_chars for o in outcomes) / n, 1) if n else None}

"""The ranking's last step: the best passages weighed again by where the question's keywords are.

BM25 (step 3 of :mod:`qa.fusion`) saturates each keyword and divides by the passage's length,
and the dense scores do not read words at all, so neither says whether a passage holds most of
the question's keywords, nor whether they stand together in one sentence, which is how a
passage that states the asked fact usually reads. Among the best :attr:`Recipe.focus_depth
<qa.fusion.Recipe>` passages by fused score, each passage in the question's script gains

``share * (w_s * best_sentence + w_p * passage)``

where ``best_sentence`` and ``passage`` are the idf-weighted shares of the question's keywords
that its best sentence and the whole passage (with its title line when the index embeds titles)
hold (:func:`qa.span_features.keyword_shares`), ``w_s`` = ``focus_sentence_weight`` and
``w_p`` = ``focus_passage_weight``. A keyword no passage holds counts too, at the highest idf: a
question the corpus only partly covers (a typo, a rare word) gains less. A passage in another
script cannot hold the question's own words, so it gains as much as the best of them: never
less than a passage in the question's script. ``share`` is 1 for short questions and fades to 0
with :func:`qa.fusion.length_share`: a real user's long post is answered by a passage holding a
small part of its words, in no one sentence (on ``meddialog_zh`` the unfaded step loses).

Measured on the dev halves (``bench/focus.py``, figures in docs/quality.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from . import fusion
from .lexical import tokenize
from .selection import best_rows
from .span_features import keyword_shares


CACHED_PASSAGES = 256
"""Passages whose keyword tokens are kept between questions: tokenising ten passages per
question was most of the step's cost, and follow-ups and related questions meet the same
passages."""


@dataclass(frozen=True)
class Passages:
    """What the focus step reads of an index: ``records`` by row (a ``many(rows)`` method, when
    they have one, fetches several at once), ``sentence_spans`` (``(owner, start, end)`` by
    sentence row), ``first_sentence`` (each passage's first sentence row, ``n + 1`` entries),
    and whether the index holds title lines (``titles``) and single characters (``unigrams``)."""

    records: object
    sentence_spans: object
    first_sentence: np.ndarray
    titles: bool = False
    unigrams: bool = False
    _tokens: dict = field(default_factory=dict, compare=False, repr=False)

    def tokens(self, rows: list[int]) -> list[tuple[list[set[str]], set[str]]]:
        """Per row, the keyword tokens of each sentence of the passage (the whole text as one
        when it has none) and of the passage with its title line."""
        found = {row: self._tokens.get(row) for row in rows}  # safe beside other threads
        missing = [row for row, tokens in found.items() if tokens is None]
        if missing:
            many = getattr(self.records, "many", None)
            records = many(missing) if many else [self.records[row] for row in missing]
            if len(self._tokens) + len(missing) > CACHED_PASSAGES:
                self._tokens.clear()
            for row, record in zip(missing, records):
                found[row] = self._tokens[row] = self._read(row, record)
        return [found[row] for row in rows]

    def _read(self, row: int, record) -> tuple[list[set[str]], set[str]]:
        spans = np.asarray(self.sentence_spans[self.first_sentence[row]:
                                               self.first_sentence[row + 1]])
        bounds = [(int(a), int(b)) for _, a, b in spans.tolist()] or [(0, len(record.text))]
        held = [set(tokenize(record.text[a:b], self.unigrams)) for a, b in bounds]
        whole = set().union(*held)
        if self.titles and record.title:
            whole |= set(tokenize(record.title, self.unigrams))
        return held, whole


def focus(evidence: fusion.Evidence, passages: Passages, weights: dict[str, float],
          question_tokens: int, recipe: fusion.Recipe,
          within: np.ndarray | None = None) -> fusion.Evidence:
    """``evidence`` with the fused scores of its best passages raised (the module docstring).

    Args:
        evidence: one question's evidence (:func:`qa.evidence.gather`).
        passages: the index's passages.
        weights: the idf of each of the question's keywords (:func:`qa.lexical.idf`).
        question_tokens: how many keyword tokens the question has (for
            :func:`qa.fusion.length_share`).
        recipe: ``focus_depth``, ``focus_sentence_weight``, ``focus_passage_weight`` and the
            long-question span.
        within: when given, only these sorted rows compete (a filter by document).
    """
    share = 1.0 - fusion.length_share(question_tokens, recipe)
    if share == 0.0 or not weights or recipe.focus_depth <= 0:
        return evidence
    pool = evidence.rows
    if within is not None:
        pool = within if pool is None else np.intersect1d(pool, within, assume_unique=True)
    top = best_rows(evidence.fused, recipe.focus_depth, pool)
    top = top[np.isfinite(evidence.fused[top])].tolist()
    same = [row for row in top if not evidence.cross[row]]
    gains = {}
    for row, (held, whole) in zip(same, passages.tokens(same)):
        gains[row] = (recipe.focus_sentence_weight * max(keyword_shares(held, weights))
                      + recipe.focus_passage_weight * keyword_shares([whole], weights)[0])
    if not gains:
        return evidence
    best = max(gains.values())
    fused = evidence.fused.copy()
    for row in top:
        fused[row] += share * gains.get(row, best)
    return replace(evidence, fused=fused)

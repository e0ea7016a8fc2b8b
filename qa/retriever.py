"""Answering questions from an index: :class:`Retriever` and its one ranking."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from . import calibration, fusion
from .bilingual import dictionary
from .config import Settings
from .answers import answer_span
from .evidence import gather, keyword_weights, term_weights
from .followup import resolve
from .indexer import IndexConfig
from .lexical import query_weights
from .live_index import LiveIndex
from .passage import Passage, Record
from .places import describe
from .selection import answering, best_rows, fold_duplicates, source_rows
from .questions import (MAX_K, MAX_QUESTION_CHARS, Question, Ranked, check_k, clean_question,
                        question_vectors, with_translations)

__all__ = ["Retriever", "Question", "Ranked", "check_k", "clean_question", "MAX_K",
           "MAX_QUESTION_CHARS"]

_BLAS = None


def _one_blas_thread():
    """BLAS limited to one thread: the per-question products are small, and idle BLAS threads
    spinning on two cores halve the speed of the query encoder's own threads (measured:
    retrieve() on drcd 56 -> 27 ms)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()  # finding the libraries once, not per question
    return _BLAS.limit(limits=1, user_api="blas")


class Retriever(LiveIndex):
    """Answers questions from a :class:`~qa.live_index.LiveIndex`: one ranking for
    :meth:`retrieve` and ``qa eval``.

    Args:
        index_dir, documents, source, settings, config, progress, allow_empty, ray: the index
            and what it is built from (:class:`~qa.live_index.LiveIndex`).
        recipe: fusion parameters.
    """

    def __init__(self, index_dir: str | Path, documents: list[str | Path] | None = None,
                 settings: Settings | None = None, config: IndexConfig | None = None,
                 recipe: fusion.Recipe = fusion.Recipe(), progress: bool = True,
                 allow_empty: bool = False, source=None, ray=None):
        super().__init__(index_dir, documents, settings, config, progress=progress,
                         allow_empty=allow_empty, source=source, ray=ray)
        self.recipe = recipe

    @property
    def query_encoder(self):
        """What embeds questions (see :func:`qa.encoder.get_query_encoder`)."""
        from .encoder import get_query_encoder

        return get_query_encoder(self.settings)

    def prepare(self, question: str, history: list[str] | None = None) -> Question:
        """Clean ``question`` (see :func:`clean_question`), resolve it against ``history`` when
        it is a follow-up (:mod:`qa.followup`), tokenise it for keywords and, when the index
        holds passages in another script, translate its words and phrases, choosing among
        their translations by what the index holds (:mod:`qa.bilingual`)."""
        asked = clean_question(question)
        earlier = []
        for item in history or []:
            try:
                earlier.append(clean_question(item))
            except ValueError:
                continue
        text = resolve(asked, earlier)
        unigrams = self.config.unigrams
        index, arrays = self._loaded()
        terms = (dictionary().terms(text, unigrams, index.keyword) if arrays.other_scripts(text)
                 else [])
        embed = self.config.dense_text(text)
        weights = query_weights(text, unigrams)
        return Question(text, tuple(weights), embed, tuple(terms), with_translations(embed, terms),
                        tuple((t, w) for t, w in weights.items() if w != 1.0))

    def question_vectors(self, questions: list[Question], batch_size: int = 32) -> np.ndarray:
        """The dense vectors of prepared ``questions`` (:func:`qa.questions.question_vectors`)."""
        return question_vectors(self.query_encoder, questions, batch_size)

    def evidence(self, question: Question, vector: np.ndarray | None = None,
                 within: np.ndarray | None = None, loaded=None) -> fusion.Evidence:
        """Every passage's dense and keyword evidence and fused score for ``question``
        (``within``: rows that must be scored even when not candidates; ``loaded``: the
        ``(index, arrays)`` those rows belong to, when a newer version may have been loaded)."""
        index, arrays = loaded or self._loaded()
        if vector is None:
            vector = self.question_vectors([question])[0]
        with _one_blas_thread():
            return gather(index, arrays, question, vector, self.recipe, within)

    def rank(self, question: Question, k: int = 10, vector: np.ndarray | None = None) -> list[Ranked]:
        """The ranking shared by :meth:`retrieve` and ``qa eval``: best ``k`` rows by fused
        score, no cut-off (``retrieve`` skips the rows below the threshold, :func:`answering`)."""
        index = self.index
        if not index.records:
            return []
        evidence = self.evidence(question, vector)
        fused = evidence.fused
        return [Ranked(int(row), float(fused[row])) for row in best_rows(fused, k, evidence.rows)]

    def retrieve(self, question: str, k: int = 5, history: list[str] | None = None,
                 possible: bool = False, sources: str | list[str] | None = None,
                 allowed: Collection[str] | None = None) -> list[Passage]:
        """The ``k`` passages that best answer ``question``.

        Args:
            question: the question, any language; cut to 1,000 characters.
            k: how many passages, 1..100 (default 5).
            history: the user's earlier questions in the same chat, oldest first.
            possible: also return *possibly relevant* passages (``tier == "possible"``), whose
                calibrated probability is under the answer threshold but over the lower one
                (default: only passages that answer).
            sources: only from these documents: a name or glob (``"*.pdf"``), or a list of
                them (:func:`qa.selection.source_rows`); default: every document.
            allowed: the documents the asker may read, by exact name (a user's view of a
                shared library); the others are never ranked, returned nor named in
                ``also_in``; default: every document.
        Returns:
            Up to ``k`` passages, best first by the ranking, each scored with the calibrated
            probability that it answers the question and its tier (``"answer"`` or
            ``"possible"``); a text held by several documents comes once, the others in
            ``also_in``; empty when nothing reaches the threshold ("not found").
        Raises:
            ValueError: empty question, ``k`` out of range, or no document matches ``sources``.
        """
        k = check_k(k)
        question = self.prepare(question, history)
        index, arrays = self._loaded()
        if not index.records:
            return []
        within = source_rows(index.rows_by_source, sources, allowed)
        if within is not None and not len(within):
            return []
        evidence = self.evidence(question, within=within, loaded=(index, arrays))
        weights, terms = keyword_weights(index, question), term_weights(index, question)
        rows, chances = answering(evidence, 2 * k + 5, possible, within)
        return [self._passage(index.records[row], chance, also,
                              answer_span(index, arrays, row, evidence.sentence_cos, weights,
                                          question.text, self.config.unigrams, terms=terms))
                for row, chance, also in fold_duplicates(index.records, rows, chances, k)]

    @staticmethod
    def _passage(record: Record, score: float, also: tuple[str, ...],
                 answer: tuple[int, int]) -> Passage:
        return Passage(id=record.id, text=record.text, score=round(float(score), 4),
                       source=record.source, title=record.title, start=record.start,
                       end=record.end, section=record.section, answer_start=answer[0],
                       answer_end=answer[1], tier=calibration.tier(score),
                       place=dict(record.place),
                       location=describe(record.place, record.section), also_in=also)

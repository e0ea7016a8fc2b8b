"""``qa eval``: recall@k and MRR@10 of the shared ranking on a BEIR-style benchmark, and the
answer accuracy of its highlighted span where the queries have answers.

Each corpus line is one passage as given (no re-chunking); titles are prepended only when
asked. The index is built under ``<index root>/eval-<folder>-<hash>`` (``-fp32`` appended for
the exact passage path) and reused while the corpus and settings are unchanged. Queries go
through :meth:`Retriever.rank`, the ranking ``retrieve()`` uses, without the "not found"
cut-off.

Answer accuracy (:func:`qa.answers.answer_accuracy`): for each query with gold answers, the
span :func:`qa.answers.answer_span` highlights in its first passage (computed exactly as
``retrieve()`` computes it) is checked for a gold answer in the passage's language.
``run_eval`` reads the answers of the queries file and of its sibling benchmarks' files of the
same name (:func:`qa.answers.answer_key`: ``xquad_en2zh`` takes the Chinese answers from
``xquad_zh`` for the same query id); without answers the result has no answer keys.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

from .answers import AnswerOutcome, answer_accuracy, answer_key, answer_span, gold_answers, \
    holds_answer
from .config import DEFAULT_MODEL, Settings
from .errors import QAError
from .evidence import keyword_weights, term_weights
from .indexer import IndexConfig
from .retriever import Retriever
from .sources import PassageFile, read_jsonl
from .text import script_of

__all__ = ["corpus_retriever", "evaluate", "judged", "read_jsonl", "read_qrels", "run_eval"]

KS = (1, 3, 5, 10)


def read_qrels(path: Path) -> dict[str, set[str]]:
    """``query-id -> relevant corpus ids`` from a TSV (a header line is skipped)."""
    qrels: dict[str, set[str]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or parts[0] == "query-id":
            continue
        if len(parts) < 3 or float(parts[2]) > 0:
            qrels.setdefault(parts[0], set()).add(parts[1])
    return qrels


def corpus_retriever(corpus: Path, settings: Settings, titles: bool = False,
                     progress: bool = True, config: IndexConfig | None = None) -> Retriever:
    """A retriever over the passages of ``corpus``, built when missing or stale."""
    config = replace(config or IndexConfig(exact=settings.exact), titles=titles)
    digest = hashlib.sha256(Path(corpus).read_bytes()).hexdigest()
    backend = "-fp32" if settings.model == DEFAULT_MODEL and not settings.int8_passages else ""
    folder = settings.index_root / f"eval-{Path(corpus).resolve().parent.name}-{digest[:12]}{backend}"
    retriever = Retriever(folder, source=PassageFile(corpus), settings=settings, config=config,
                          progress=progress)
    retriever.index
    return retriever


def judged(queries: list[dict], qrels: dict[str, set[str]]) -> list[dict]:
    """The queries that have a relevance judgement.

    Raises:
        QAError: none has.
    """
    queries = [q for q in queries if str(q["id"]) in qrels]
    if not queries:
        raise QAError("no query has a relevance judgement")
    return queries


def evaluate(retriever: Retriever, queries: list[dict], qrels: dict[str, set[str]],
             vectors=None, answers: dict | None = None, spans: dict | None = None) -> dict:
    """Recall@1/3/5/10 and MRR@10 over the ``queries`` that have qrels, and answer accuracy.

    Args:
        retriever: the ranking to measure.
        queries: ``{"id", "text"[, "answers"]}`` rows.
        qrels: relevant passage ids per query id.
        vectors: the judged queries' question embeddings, when already computed.
        answers: gold answers per id and script (:func:`qa.answers.answer_key` or
            :func:`qa.answers.file_answers`); default: no answer accuracy (``qa eval``'s
            :func:`run_eval` passes them).
        spans: span rules by name, each called like :func:`qa.answers.answer_span`; default:
            that function alone, what ``retrieve()`` highlights.
    Returns:
        ``queries``, ``recall@k``, ``mrr@10``, ``seconds``; with answers also the keys of
        :func:`qa.answers.answer_accuracy` (default ``spans``) or ``"answers"``: those keys
        per rule name.
    Raises:
        QAError: no query has a relevance judgement.
    """
    queries = judged(queries, qrels)
    answers = answers or {}
    started = time.perf_counter()
    prepared = [retriever.prepare(q["text"]) for q in queries]
    if vectors is None:
        vectors = retriever.question_vectors(prepared, batch_size=64)
    hits = {k: 0 for k in KS}
    reciprocal = 0.0
    records = retriever.index.records
    rules = {"": answer_span} if spans is None else spans
    outcomes: dict[str, list[AnswerOutcome]] = {name: [] for name in rules}
    for query, question, vector in zip(queries, prepared, vectors):
        relevant = qrels[str(query["id"])]
        ranking = retriever.rank(question, max(KS), vector)
        ranked = [records[r.row].id for r in ranking]
        for k in KS:
            hits[k] += any(pid in relevant for pid in ranked[:k])
        reciprocal += next((1 / (i + 1) for i, pid in enumerate(ranked) if pid in relevant), 0.0)
        if ranking and str(query["id"]) in answers:
            for name, outcome in _outcomes(retriever, question, vector, ranking[0].row, relevant,
                                           answers[str(query["id"])], rules).items():
                outcomes[name].append(outcome)
    n = len(queries)
    result = {"queries": n}
    result.update({f"recall@{k}": round(hits[k] / n, 4) for k in KS})
    result["mrr@10"] = round(reciprocal / n, 4)
    if spans is None and outcomes[""]:
        result.update(answer_accuracy(outcomes[""]))
    elif spans is not None:
        result["answers"] = {name: answer_accuracy(found) for name, found in outcomes.items()}
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _outcomes(retriever: Retriever, question, vector, row: int, relevant: set[str],
              by_script: dict[str, list[str]], rules: dict) -> dict[str, AnswerOutcome]:
    """Per rule, whether its span of passage ``row`` (given the evidence ``retrieve()``
    computes) holds a gold answer in the passage's language."""
    index, arrays = retriever._loaded()
    evidence = retriever.evidence(question, vector)
    weights, terms = keyword_weights(index, question), term_weights(index, question)
    record = index.records[row]
    gold = gold_answers(by_script, record.script or script_of(record.text))
    found = {}
    for name, rule in rules.items():
        start, end = rule(index, arrays, row, evidence.sentence_cos, weights, question.text,
                          retriever.config.unigrams, terms=terms)
        found[name] = AnswerOutcome(record.id in relevant,
                                    holds_answer(record.text[start:end], gold), end - start,
                                    len(record.text))
    return found


def run_eval(corpus: Path, queries: Path, qrels: Path, settings: Settings, titles: bool = False,
             progress: bool = True) -> dict:
    """Build or reuse the corpus index and evaluate the queries on it (answers: those of
    ``queries`` and its siblings, :func:`qa.answers.answer_key`)."""
    retriever = corpus_retriever(Path(corpus), settings, titles, progress)
    return evaluate(retriever, read_jsonl(Path(queries)), read_qrels(Path(qrels)),
                    answers=answer_key(Path(queries)))

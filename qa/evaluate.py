"""``qa eval``: recall@k and MRR@10 of the shared ranking on a BEIR-style benchmark.

Each corpus line is one passage as given (no re-chunking); titles are prepended only when
asked. The index is built under ``<index root>/eval-<folder>-<hash>`` (``-fp32`` appended for
the exact passage path) and reused while the corpus and settings are unchanged. Queries go
through :meth:`Retriever.rank`, the ranking ``retrieve()`` uses, without the "not found"
cut-off.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

from .config import DEFAULT_MODEL, Settings
from .errors import QAError
from .indexer import IndexConfig
from .retriever import Retriever
from .sources import PassageFile, read_jsonl

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
             vectors=None) -> dict:
    """Recall@1/3/5/10 and MRR@10 over the ``queries`` that have qrels (``vectors``: their
    question embeddings, when already computed)."""
    queries = judged(queries, qrels)
    started = time.perf_counter()
    prepared = [retriever.prepare(q["text"]) for q in queries]
    if vectors is None:
        vectors = retriever.query_encoder.encode_queries([p.embed for p in prepared],
                                                         batch_size=64)
    hits = {k: 0 for k in KS}
    reciprocal = 0.0
    records = retriever.index.records
    for query, question, vector in zip(queries, prepared, vectors):
        relevant = qrels[str(query["id"])]
        ranked = [records[r.row].id for r in retriever.rank(question, max(KS), vector)]
        for k in KS:
            hits[k] += any(pid in relevant for pid in ranked[:k])
        reciprocal += next((1 / (i + 1) for i, pid in enumerate(ranked) if pid in relevant), 0.0)
    n = len(queries)
    result = {"queries": n}
    result.update({f"recall@{k}": round(hits[k] / n, 4) for k in KS})
    result["mrr@10"] = round(reciprocal / n, 4)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def run_eval(corpus: Path, queries: Path, qrels: Path, settings: Settings, titles: bool = False,
             progress: bool = True) -> dict:
    """Build or reuse the corpus index and evaluate the queries on it."""
    retriever = corpus_retriever(Path(corpus), settings, titles, progress)
    return evaluate(retriever, read_jsonl(Path(queries)), read_qrels(Path(qrels)))

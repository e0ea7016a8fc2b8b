"""A dev set ready to rank: its retriever, judged questions, prepared questions and vectors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.evaluate import corpus_retriever, judged, read_jsonl, read_qrels
from qa.retriever import Retriever

DEV_SETS = ["cmrc2018", "drcd", "xquad_zh", "xquad_en2zh", "xquad_zh2mixed", "xquad_zh2halfen",
            "xquad_en", "meddialog_zh"]
"""The eight dev sets of ``../shared/bench``, in the order the docs' tables list them."""


@dataclass
class DevSet:
    """``queries`` (those with qrels), ``questions`` prepared by ``retriever`` and their
    ``vectors``, and ``relevant``: each query's relevant passage rows."""

    retriever: Retriever
    queries: list[dict]
    questions: list
    vectors: np.ndarray
    relevant: list[set[int]]


def load(folder: Path, settings: Settings) -> DevSet:
    """The dev half of the benchmark set in ``folder`` (its ``qa eval`` index built or reused)."""
    retriever = corpus_retriever(folder / "corpus.jsonl", settings, progress=False)
    qrels = read_qrels(folder / "qrels.dev.tsv")
    queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
    questions = [retriever.prepare(q["text"]) for q in queries]
    vectors = retriever.question_vectors(questions, batch_size=64)
    row_of = {record.id: row for row, record in enumerate(retriever.index.records)}
    relevant = [{row_of[pid] for pid in qrels[str(q["id"])] if pid in row_of} for q in queries]
    return DevSet(retriever, queries, questions, vectors, relevant)


class Tally:
    """Recall@1 and MRR@10 of one ranking over the questions added, and how many it changed."""

    def __init__(self):
        self.hits, self.reciprocal, self.touched = 0, 0.0, 0

    def add(self, rows: list[int], relevant: set[int], touched: bool = False) -> None:
        """One question's ranked passage rows and its relevant rows."""
        rank = next((i for i, row in enumerate(rows[:10]) if row in relevant), None)
        self.hits += rank == 0
        self.reciprocal += 0.0 if rank is None else 1 / (rank + 1)
        self.touched += touched

    def result(self, n: int) -> dict:
        return {"recall@1": round(self.hits / n, 4), "mrr@10": round(self.reciprocal / n, 4),
                "right_first": self.hits, "touched": self.touched}

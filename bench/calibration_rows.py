"""The rows ``bench/calibrate.py`` fits and measures the tiers on: dev questions asked of a
corpus, each with the ranking's evidence turned into calibration features.

- *answerable*: a corpus's own dev questions;
- *unrelated*: questions of another dataset asked of it (:data:`PAIRS`);
- *near-topic*: a corpus's own questions asked with the passages that answer them taken out
  (:func:`near_topic`).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.answers import answer_key, fold_answer, gold_answers  # noqa: E402
from qa.calibration import FEATURES, features_of  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, read_jsonl, read_qrels  # noqa: E402
from qa.text import script_of  # noqa: E402

# corpus -> (answerable question sets, unanswerable question sets)
PAIRS = {
    "xquad_zh": (["xquad_zh", "xquad_en2zh"], ["cmrc2018", "drcd"]),
    "xquad_en": (["xquad_en"], ["cmrc2018", "drcd"]),
    "cmrc2018": (["cmrc2018"], ["xquad_zh", "xquad_en"]),
    "drcd": (["drcd"], ["xquad_zh", "xquad_en"]),
}
NEAR_PER_SIDE = 200  # near-topic rows per corpus: a third of its unanswerable rows


def collect(bench: Path, per_side: int, corpora: list[str], seed: int = 0,
            near_per_side: int = 0):
    """Per row (a question asked of a corpus): the best-ranked passage's features, the label,
    every passage's features, the right passage's features when the ranking puts it in the top
    3 (else NaN), the question's text, the corpus, the question set and the row's kind
    (``answerable``, ``unrelated``: a question of another dataset, ``near``: an answerable
    question asked without the passages that answer it, see :func:`near_topic`)."""
    rng = random.Random(seed)
    settings = Settings.from_env()
    rows, labels, every, right, texts, where, asked, kinds = [], [], [], [], [], [], [], []
    for corpus in corpora:
        good, bad = PAIRS[corpus]
        retriever = corpus_retriever(bench / corpus / "corpus.jsonl", settings, progress=False)
        ids = [r.id for r in retriever.index.records]
        for label, sets in ((1, good), (0, bad)):
            questions, qrels = [], {}
            for name in sets:
                questions += [dict(q, set=name) for q in read_jsonl(bench / name / "queries.dev.jsonl")]
                if label:
                    qrels.update(read_qrels(bench / name / "qrels.dev.tsv"))
            questions = rng.sample(questions, min(per_side, len(questions)))
            prepared = [retriever.prepare(q["text"]) for q in questions]
            vectors = retriever.question_vectors(prepared, batch_size=64)
            near = []  # the first near_per_side answerable questions' evidence, reused
            for query, question, vector in zip(questions, prepared, vectors):
                evidence = retriever.evidence(question, vector)
                if label and len(near) < near_per_side:
                    near.append(evidence)
                top3 = [r.row for r in retriever.rank(question, 3, vector)]
                rows.append(features_of(evidence, np.array(top3[:1]))[0])
                labels.append(label)
                scored = np.arange(len(evidence.fused)) if evidence.rows is None else evidence.rows
                every.append(features_of(evidence, scored).astype(np.float32))
                hit = [r for r in top3 if label and ids[r] in qrels.get(str(query["id"]), ())]
                right.append(features_of(evidence, np.array(hit[:1]))[0] if hit
                             else np.full(len(FEATURES), np.nan))
                texts.append(query["text"])
                where.append(corpus)
                asked.append(query["set"])
                kinds.append("answerable" if label else "unrelated")
            if near:
                for features, best, query in near_topic(bench, retriever.index.records,
                                                        questions, qrels, near):
                    rows.append(best)
                    labels.append(0)
                    every.append(features)
                    right.append(np.full(len(FEATURES), np.nan))
                    texts.append(query["text"])
                    where.append(corpus)
                    asked.append(f"near:{query['set']}")
                    kinds.append("near")
        print(f"{corpus}: {len(rows)} rows so far", file=sys.stderr)
    return (np.array(rows), np.array(labels, dtype=float), every, np.array(right),
            np.array(texts), np.array(where), np.array(asked), np.array(kinds))


def near_topic(bench: Path, records, questions: list[dict], qrels: dict, evidences):
    """Near-topic unanswerable rows: each answerable question asked of its own corpus (its
    passage ``records``) with the passages that answer it taken out (the judged ones and any
    holding a gold answer), so what is left is about the same subject but does not answer
    (like 划船社区有多少户居民? on the seed). ``evidences``: the ranking's evidence for the first
    of ``questions``, in order. Yields every remaining passage's features, the best-ranked
    one's, and the question."""
    ids = [r.id for r in records]
    folded = [fold_answer(r.text) for r in records]
    keys = {name: answer_key(bench / name / "queries.dev.jsonl")
            for name in {q["set"] for q in questions[:len(evidences)]}}
    for query, evidence in zip(questions, evidences):
        by_script = keys[query["set"]].get(str(query["id"]), {})
        judged = set(qrels.get(str(query["id"]), ()))
        scored = np.arange(len(evidence.fused)) if evidence.rows is None else evidence.rows
        answers = {script: [a for a in map(fold_answer, gold_answers(by_script, script)) if a]
                   for script in ("cjk", "latin")}
        keep = np.array([ids[r] not in judged and not any(
            a in folded[r] for a in answers[records[r].script or script_of(records[r].text)])
            for r in scored.tolist()], dtype=bool)
        left = scored[keep]
        if not len(left):
            continue
        best = left[int(np.argmax(evidence.fused[left]))]
        yield (features_of(evidence, left).astype(np.float32),
               features_of(evidence, np.array([best]))[0], query)

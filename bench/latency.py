"""retrieve() latency, end to end (question in, passages with answer sentences out).

Measures p50/p95 on the seed index (its 40 test questions, three times each) and on benchmark
corpus indexes (built or reused like ``qa eval``; the first ``--questions`` dev questions),
one question at a time, after one warm-up question. Writes ``bench/results/latency.json``
(``--out``). Run it on a quiet machine.

Run: ``.venv/bin/python bench/latency.py [--corpora drcd xquad_en2zh] [--questions 200]``
(about a minute).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import qa  # noqa: E402
from about import machine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, read_jsonl  # noqa: E402

SEED_QUESTIONS = json.loads((ROOT / "tests" / "data" / "seed_questions.json").read_text("utf-8"))


def measure(retriever, questions: list[str]) -> dict:
    retriever.retrieve(questions[0], k=5)
    times = []
    for question in questions:
        started = time.perf_counter()
        retriever.retrieve(question, k=5)
        times.append((time.perf_counter() - started) * 1000)
    return {"questions": len(times), "p50_ms": round(float(np.percentile(times, 50)), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--corpora", nargs="*", default=["drcd", "xquad_en2zh"])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latency.json")
    args = parser.parse_args()
    results = {"measured": machine()}
    seed_questions = [i["q"] for i in SEED_QUESTIONS["on_topic"]] + SEED_QUESTIONS["off_topic"]
    seed = qa.default_retriever()
    results["seed"] = dict(measure(seed, seed_questions * 3), passages=len(seed.index.records))
    for corpus in args.corpora:
        bench = Path(args.bench) / corpus
        retriever = corpus_retriever(bench / "corpus.jsonl", Settings.from_env(), progress=False)
        questions = [q["text"] for q in read_jsonl(bench / "queries.dev.jsonl")][: args.questions]
        results[corpus] = dict(measure(retriever, questions),
                               passages=len(retriever.index.records),
                               sentences=len(retriever.index.sentence_spans))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

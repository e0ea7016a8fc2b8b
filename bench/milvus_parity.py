"""The Milvus backend against the FAISS folder (issue 18): same ranking, and what it costs.

For each dev set (default cmrc2018, drcd, xquad_en2zh): the ``qa eval`` index is built (or
reused from ``QA_INDEX_ROOT``), published to a fresh Milvus Lite database (``QA_BACKEND=milvus``
with ``QA_MILVUS_URI`` in a temporary folder: pymilvus over gRPC, the code that targets a
server), and both backends answer every dev question with the same question vectors:
recall@1/5, MRR@10 and answer accuracy (``qa.evaluate.evaluate``), and how many questions
get the same first passage. Latency: ``retrieve()`` of the first ``--latency`` questions,
each backend in turn per question (alternating which goes first), after one warm-up
question; medians and 95th percentiles. Also the publish time.

Writes ``bench/results/milvus_parity.json`` (sets not run are kept from earlier runs). Run:
``.venv/bin/python bench/milvus_parity.py [--sets cmrc2018 drcd xquad_en2zh] [--latency 200]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402

OUT = ROOT / "bench" / "results" / "milvus_parity.json"


def compare(name: str, bench: Path, settings, uri: str, latency: int) -> dict:
    from qa.answers import answer_key
    from qa.evaluate import corpus_retriever, evaluate, read_jsonl, read_qrels
    from qa.retriever import Retriever

    folder = bench / name
    queries = read_jsonl(folder / "queries.dev.jsonl")
    qrels = read_qrels(folder / "qrels.dev.tsv")
    answers = answer_key(folder / "queries.dev.jsonl")
    local = corpus_retriever(folder / "corpus.jsonl", settings, progress=False)
    served = replace(settings, backend="milvus", milvus_uri=uri)
    started = time.perf_counter()
    remote = Retriever(local.store.folder, source=local.source, settings=served,
                       config=local.config, progress=False)
    remote.index
    publish_seconds = time.perf_counter() - started
    judged = [q for q in queries if str(q["id"]) in qrels]
    prepared = [local.prepare(q["text"]) for q in judged]
    vectors = local.question_vectors(prepared, batch_size=64)
    result = {"passages": len(local.index.records), "publish_seconds": round(publish_seconds, 1)}
    for way, retriever in (("faiss", local), ("milvus", remote)):
        result[way] = evaluate(retriever, judged, qrels, vectors, answers or None)
    same = 0
    for question, vector in zip(prepared, vectors):
        a = local.rank(question, 1, vector)
        b = remote.rank(remote.prepare(question.text), 1, vector)
        same += bool(a and b and local.index.records[a[0].row].id ==
                     remote.index.records[b[0].row].id) or (not a and not b)
    result["same_first_passage"] = round(same / len(prepared), 4)
    times = {"faiss": [], "milvus": []}
    asked = [q["text"] for q in judged[:latency + 1]]
    for i, text in enumerate(asked):
        order = (("faiss", local), ("milvus", remote))
        for way, retriever in order if i % 2 else order[::-1]:
            started = time.perf_counter()
            retriever.retrieve(text, k=5)
            if i:  # the first question warms both up
                times[way].append((time.perf_counter() - started) * 1e3)
    result["latency_ms"] = {way: {"p50": round(float(np.median(t)), 1),
                                  "p95": round(float(np.percentile(t, 95)), 1), "n": len(t)}
                            for way, t in times.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--sets", nargs="+", default=["cmrc2018", "drcd", "xquad_en2zh"])
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    from qa.config import Settings

    settings = Settings.from_env()
    from importlib.metadata import version

    path = Path(args.out)
    out = json.loads(path.read_text()) if path.exists() else {"sets": {}}  # others kept
    out.update({"measured": machine(), "pymilvus": version("pymilvus"),
                "milvus_lite": version("milvus-lite")})
    with tempfile.TemporaryDirectory(prefix="milvus-parity-") as work:
        for name in args.sets:
            uri = str(Path(work) / f"{name}.db")
            out["sets"][name] = compare(name, Path(args.bench), settings, uri, args.latency)
            out["sets"][name]["measured"] = out["measured"]
            print(name, json.dumps(out["sets"][name]), flush=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()

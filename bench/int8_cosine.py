"""How close the 8-bit passage encoder is to the fp32 model, on real bench text.

Embeds a fixed sample of passages of the eight bench corpora (``../shared/bench``, dev halves'
corpora; an equal share of each, seeded) and a sample of their sentences, as the index embeds
them (Traditional as Simplified, ``passage:`` prompt), with the default 8-bit ONNX path and with
sentence-transformers fp32, and writes the distribution of the cosines between the two to
``bench/results/int8_cosine.json``: minimum, 0.1th / 1st / 5th percentile, mean, median, for
passages, sentences and both, with the library versions and the CPU's instruction sets.
``tests/test_model.py`` takes its bounds from these numbers.

Run: ``.venv/bin/python bench/int8_cosine.py [--passages 1000] [--sentences 1000]`` (about 5
minutes here).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPORA = ["cmrc2018", "drcd", "xquad_zh", "xquad_en", "xquad_en2zh", "xquad_zh2mixed",
           "xquad_zh2halfen", "meddialog_zh"]
OUT = ROOT / "bench" / "results" / "int8_cosine.json"


def sample_texts(bench: Path, passages: int, sentences: int, seed: int = 0):
    """``passages`` passages (an equal share per corpus) and ``sentences`` of their sentences."""
    from qa.sentences import split_sentences
    from qa.evaluate import read_jsonl
    from qa.indexer import IndexConfig

    config, rng = IndexConfig(), random.Random(seed)
    chosen = []
    for number, name in enumerate(CORPORA):
        rows = [r["text"] for r in read_jsonl(bench / name / "corpus.jsonl") if r["text"].strip()]
        share = passages // len(CORPORA) + (number < passages % len(CORPORA))
        chosen += rng.sample(sorted(set(rows)), share)
    pieces = sorted({text[a:b] for text in chosen for a, b in split_sentences(text)})
    pieces = rng.sample(pieces, min(sentences, len(pieces)))
    return [config.dense_text(t) for t in chosen], [config.dense_text(t) for t in pieces]


def distribution(cosines: np.ndarray) -> dict:
    return {"n": int(len(cosines)), "min": round(float(cosines.min()), 5),
            "p0.1": round(float(np.percentile(cosines, 0.1)), 5),
            "p1": round(float(np.percentile(cosines, 1)), 5),
            "p5": round(float(np.percentile(cosines, 5)), 5),
            "mean": round(float(cosines.mean()), 5),
            "median": round(float(np.median(cosines)), 5)}


def cpu_flags() -> list[str]:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    return sorted(f for f in flags if f.startswith(("avx", "fma", "amx")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    from qa.config import Settings
    from qa.encoder import get_encoder, get_passage_encoder
    from qa.int8 import export_versions

    passages, sentences = sample_texts(Path(args.bench), args.passages, args.sentences)
    settings = Settings.from_env()
    exact = get_encoder(replace(settings, passage_backend="torch"))
    fast = get_passage_encoder(replace(settings, passage_backend="int8"))
    result = {"date": time.strftime("%Y-%m-%d"), "versions": export_versions(),
              "cpu": platform.processor() or platform.machine(), "cpu_flags": cpu_flags()}
    every = []
    for kind, texts in (("passages", passages), ("sentences", sentences)):
        started = time.perf_counter()
        cosines = (exact.encode_passages(texts) * fast.encode_passages(texts)).sum(axis=1)
        every.append(cosines)
        result[kind] = distribution(cosines)
        worst = int(np.argmin(cosines))
        result[kind]["worst_text"] = texts[worst][:120]
        print(f"{kind}: {result[kind]} ({time.perf_counter() - started:.0f} s)", flush=True)
    result["all"] = distribution(np.concatenate(every))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result["all"]))


if __name__ == "__main__":
    main()

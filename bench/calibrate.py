"""Calibrate the "not found" decision and the relevance shown to people.

Data (dev halves of ../shared/bench only): for each corpus, its own dev questions are
*answerable*; questions from an unrelated dataset asked of it are *unanswerable*
(pairs listed in PAIRS). For each question the ranking's best passage gives three features:

- ``passage_margin``: its passage cosine minus the question's mean cosine to the background
  sentences of ``qa/background.json`` in the passage's script;
- ``sentence_margin``: its best-sentence cosine minus the same baseline;
- ``cross_script``: 1 when the passage's script differs from the question's;
- ``keyword``: its keyword strength (BM25 / reachable bound, see qa/fusion.py);
- ``translated``: the strength of the dictionary-translated keywords (cross-script passages).

A logistic regression (numpy, L2-regularised, Newton steps) maps them to P(answerable). The
threshold is the highest probability that still keeps ``--keep`` (default 95%) of the
answerable questions: a missed answer costs a user more than a weak passage shown with a low
relevance. It is chosen on what ``retrieve()`` decides on: the highest probability of *any*
passage (it keeps every passage at or above the threshold, best first by fused score), not
only of the best-ranked one (whose figures are reported as ``best_ranked_only``). The
coefficients, the threshold and the figures on the calibration data are written to
``qa/calibration.json``; ``retrieve()`` returns nothing below the threshold and shows each
passage's probability as its relevance.

Run: ``.venv/bin/python bench/calibrate.py [--per-side 400] [--bench ../shared/bench]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.calibration import FEATURES, features_of  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, read_jsonl  # noqa: E402

# corpus -> (answerable question sets, unanswerable question sets)
PAIRS = {
    "xquad_zh": (["xquad_zh", "xquad_en2zh"], ["cmrc2018", "drcd"]),
    "xquad_en": (["xquad_en"], ["cmrc2018", "drcd"]),
    "cmrc2018": (["cmrc2018"], ["xquad_zh", "xquad_en"]),
    "drcd": (["drcd"], ["xquad_zh", "xquad_en"]),
}


def collect(bench: Path, per_side: int, corpora: list[str], seed: int = 0):
    rng = random.Random(seed)
    settings = Settings.from_env()
    rows, labels, every = [], [], []
    for corpus in corpora:
        good, bad = PAIRS[corpus]
        retriever = corpus_retriever(bench / corpus / "corpus.jsonl", settings, progress=False)
        for label, sets in ((1, good), (0, bad)):
            questions = []
            for name in sets:
                questions += [q["text"] for q in read_jsonl(bench / name / "queries.dev.jsonl")]
            questions = rng.sample(questions, min(per_side, len(questions)))
            prepared = [retriever.prepare(q) for q in questions]
            vectors = retriever.query_encoder.encode_queries([p.embed for p in prepared], batch_size=64)
            for question, vector in zip(prepared, vectors):
                evidence = retriever.evidence(question, vector)
                top = int(np.argmax(evidence.fused))
                rows.append(features_of(evidence, np.array([top]))[0])
                labels.append(label)
                scored = np.arange(len(evidence.fused)) if evidence.rows is None else evidence.rows
                every.append(features_of(evidence, scored).astype(np.float32))
        print(f"{corpus}: {len(rows)} rows so far", file=sys.stderr)
    return np.array(rows), np.array(labels, dtype=float), every


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 50):
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (p - y) + l2 * np.r_[0, w[1:]]
        hess = (z * (p * (1 - p))[:, None]).T @ z + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    coef = w[1:] / std
    bias = w[0] - float((w[1:] * mean / std).sum())
    return float(bias), [float(c) for c in coef]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--per-side", type=int, default=400)
    parser.add_argument("--corpora", default=",".join(PAIRS), help="comma-separated")
    parser.add_argument("--keep", type=float, default=0.95,
                        help="share of answerable questions the threshold keeps")
    args = parser.parse_args()
    started = time.time()
    corpora = args.corpora.split(",")
    x, y, every = collect(Path(args.bench), args.per_side, corpora)
    bias, coef = fit(x, y)
    best = np.array([float((f @ np.array(coef) + bias).max()) for f in every])
    p = 1 / (1 + np.exp(-best))  # each question's most probable passage: what retrieve() cuts on
    threshold = float(np.quantile(p[y == 1], 1 - args.keep))
    accepted = p >= threshold
    top_accepted = 1 / (1 + np.exp(-(x @ np.array(coef) + bias))) >= threshold

    def rates(kept: np.ndarray) -> dict:
        return {"answerable_kept": round(float(kept[y == 1].mean()), 4),
                "unanswerable_refused": round(float((~kept)[y == 0].mean()), 4)}

    figures = dict(rates(accepted), best_ranked_only=rates(top_accepted), rows=int(len(y)))
    out = {"features": FEATURES, "bias": bias, "coefficients": coef, "threshold": round(threshold, 4),
           "calibrated_on": {c: PAIRS[c] for c in corpora}, "per_side": args.per_side,
           "figures": figures, "seconds": round(time.time() - started, 1)}
    (ROOT / "qa" / "calibration.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Calibrate the "not found" decision, and measure it on questions the fit never saw.

Data (dev halves of ../shared/bench only): for each corpus, its own dev questions are
*answerable*; questions from an unrelated dataset asked of it are *unanswerable*
(pairs listed in PAIRS). For each question the ranking's best passage gives five features
(:data:`qa.calibration.FEATURES`):

- ``passage_margin``: its passage cosine minus the question's mean cosine to the background
  sentences of ``qa/background.json`` in the passage's script;
- ``sentence_margin``: its best-sentence cosine minus the same baseline;
- ``keyword``: its keyword strength (BM25 / reachable bound, see qa/fusion.py);
- ``cross_script``: 1 when the passage's script differs from the question's;
- ``translated``: the strength of the dictionary-translated keywords (cross-script passages).

A logistic regression (numpy, L2-regularised, Newton steps) maps them to P(answerable). The
threshold is the highest probability that still keeps ``--keep`` (default 98%) of the
answerable questions: a missed answer costs a user more than a weak passage shown with a low
relevance. It is chosen on what ``retrieve()`` decides on: the highest probability of *any*
passage (it keeps every passage at or above the threshold, best first by fused score), not
only of the best-ranked one (whose figures are reported as ``best_ranked_only``).

Figures (all written to ``bench/results/calibration.json``, ``--out``):

- ``fit``: kept / refused on the rows the model was fitted on (optimistic by construction);
- ``cross_validated``: the same figures on held-out questions, two ways. ``by_question``:
  5 folds, a question text's rows (answerable on its corpus, unanswerable on another) never
  split between fitting and testing, so no question is scored by a model that saw it.
  ``by_corpus``: leave one corpus out, fit on the other three with their threshold, test on
  the fourth: the closest to a user's own documents, which the model has never seen. In both
  the threshold is chosen on the fitting folds only;
- ``seed``: the shipped model on the seed's 20 on-topic and 20 off-topic questions
  (``tests/data/seed_questions.json``, never used for fitting): on-topic answered when the
  expected text is in the top 3, off-topic refused when nothing is returned;
- ``matches_shipped``: whether this fit reproduces ``qa/calibration.json``.

``--write-model`` also writes the fitted model to ``qa/calibration.json``, which
``retrieve()`` uses (only when the fit itself is meant to change).

Run: ``.venv/bin/python bench/calibrate.py [--keep 0.98] [--per-side 400] [--write-model]``
(about 3 minutes on two cores once the ``qa eval`` indexes exist).
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
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
FOLDS = 5
SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions.json"
SHIPPED = ROOT / "qa" / "calibration.json"


def collect(bench: Path, per_side: int, corpora: list[str], seed: int = 0):
    """Per row (a question asked of a corpus): the best-ranked passage's features, the label,
    every passage's features, the question's text and the corpus."""
    rng = random.Random(seed)
    settings = Settings.from_env()
    rows, labels, every, texts, where = [], [], [], [], []
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
            for text, question, vector in zip(questions, prepared, vectors):
                evidence = retriever.evidence(question, vector)
                top = int(np.argmax(evidence.fused))
                rows.append(features_of(evidence, np.array([top]))[0])
                labels.append(label)
                scored = np.arange(len(evidence.fused)) if evidence.rows is None else evidence.rows
                every.append(features_of(evidence, scored).astype(np.float32))
                texts.append(text)
                where.append(corpus)
        print(f"{corpus}: {len(rows)} rows so far", file=sys.stderr)
    return (np.array(rows), np.array(labels, dtype=float), every, np.array(texts),
            np.array(where))


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


def best_probability(every: list[np.ndarray], bias: float, coef: list[float]) -> np.ndarray:
    """Each row's most probable passage's probability: what ``retrieve()`` cuts on."""
    logits = np.array([float((f @ np.array(coef) + bias).max()) for f in every])
    return 1 / (1 + np.exp(-logits))


def rates(kept: np.ndarray, y: np.ndarray) -> dict:
    return {"answerable_kept": round(float(kept[y == 1].mean()), 4),
            "unanswerable_refused": round(float((~kept)[y == 0].mean()), 4),
            "answerable": int((y == 1).sum()), "unanswerable": int((y == 0).sum())}


def calibrate(x, y, every, keep: float) -> tuple[float, list[float], float]:
    """Coefficients and the threshold that keeps ``keep`` of the answerable rows."""
    bias, coef = fit(x, y)
    p = best_probability(every, bias, coef)
    return bias, coef, float(np.quantile(p[y == 1], 1 - keep))


def held_out(x, y, every, keep: float, folds: np.ndarray) -> dict:
    """Kept / refused on each fold's rows by a model and threshold fitted on the others,
    pooled over all rows and per fold."""
    kept = np.zeros(len(y), dtype=bool)
    per_fold = {}
    for fold in np.unique(folds):
        test = folds == fold
        train = ~test
        bias, coef, threshold = calibrate(x[train], y[train],
                                          [f for f, t in zip(every, train) if t], keep)
        p = best_probability([f for f, t in zip(every, test) if t], bias, coef)
        kept[test] = p >= threshold
        per_fold[str(fold)] = dict(rates(kept[test], y[test]), threshold=round(threshold, 4))
    return dict(rates(kept, y), folds=per_fold)


def question_folds(texts: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """A fold per row such that the rows of one question text share a fold."""
    unique = sorted(set(texts.tolist()))
    random.Random(seed).shuffle(unique)
    fold_of = {text: i % count for i, text in enumerate(unique)}
    return np.array([fold_of[t] for t in texts.tolist()])


def seed_check() -> dict:
    """The shipped model on the seed's on- and off-topic questions (never fitted on)."""
    import qa

    questions = json.loads(SEED_QUESTIONS.read_text(encoding="utf-8"))
    retriever = qa.default_retriever()
    missed = [item["q"] for item in questions["on_topic"]
              if not any(item["expect"] in p.text for p in retriever.retrieve(item["q"], k=3))]
    answered = [q for q in questions["off_topic"] if retriever.retrieve(q, k=3)]
    return {"on_topic": len(questions["on_topic"]),
            "on_topic_answered": len(questions["on_topic"]) - len(missed),
            "off_topic": len(questions["off_topic"]),
            "off_topic_refused": len(questions["off_topic"]) - len(answered),
            "on_topic_missed": missed, "off_topic_answered": answered}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--per-side", type=int, default=400)
    parser.add_argument("--corpora", default=",".join(PAIRS), help="comma-separated")
    parser.add_argument("--keep", type=float, default=0.98,
                        help="share of answerable questions the threshold keeps")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "calibration.json")
    parser.add_argument("--write-model", action="store_true",
                        help="also write the fitted model to qa/calibration.json")
    parser.add_argument("--no-seed", action="store_true", help="skip the seed questions")
    args = parser.parse_args()
    started = time.time()
    about = machine()
    corpora = args.corpora.split(",")
    x, y, every, texts, where = collect(Path(args.bench), args.per_side, corpora)
    bias, coef, threshold = calibrate(x, y, every, args.keep)
    accepted = best_probability(every, bias, coef) >= threshold
    top_accepted = 1 / (1 + np.exp(-(x @ np.array(coef) + bias))) >= threshold
    figures = dict(rates(accepted, y), best_ranked_only=rates(top_accepted, y), rows=int(len(y)))
    model = {"features": FEATURES, "bias": bias, "coefficients": coef,
             "threshold": round(threshold, 4),
             "calibrated_on": {c: PAIRS[c] for c in corpora}, "per_side": args.per_side,
             "figures": figures, "seconds": round(time.time() - started, 1)}
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    same = (shipped["features"] == FEATURES and shipped["threshold"] == model["threshold"]
            and np.allclose(shipped["coefficients"], coef, rtol=1e-6)
            and np.isclose(shipped["bias"], bias, rtol=1e-6))
    if args.write_model:
        SHIPPED.write_text(json.dumps(model, indent=2) + "\n")
    cross = {"by_question": dict(held_out(x, y, every, args.keep,
                                          question_folds(texts, FOLDS)), method=(
                 f"{FOLDS} folds; all rows of one question text in one fold")),
             "by_corpus": dict(held_out(x, y, every, args.keep, where),
                               method="leave one corpus out")}
    out = {"date": datetime.date.today().isoformat(), "measured": about, "keep": args.keep,
           "model": {k: model[k] for k in ("features", "bias", "coefficients", "threshold")},
           "matches_shipped": bool(same), "fit": figures, "cross_validated": cross,
           "calibrated_on": model["calibrated_on"], "per_side": args.per_side}
    if not args.no_seed:
        out["seed"] = seed_check()
    out["seconds"] = round(time.time() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

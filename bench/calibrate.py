"""Calibrate the tiers ("answers", "possibly relevant", "not found"), and measure them on
questions the fit never saw.

Data (dev halves of ../shared/bench only): for each corpus, its own dev questions are
*answerable*; questions from an unrelated dataset asked of it are *unanswerable* (questions
about other documents and general knowledge; pairs listed in PAIRS). So are *near-topic*
rows, ``--near-per-side`` of its own questions asked with the passages that answer them taken
out (a third of the unanswerable rows by default): they are measured, and fitted on only with
``--fit-near`` (docs/quality.md says why not by default). The rows are collected by
``bench/calibration_rows.py``. For each question the ranking's passages give five features
(:data:`qa.calibration.FEATURES`):

- ``passage_margin``: its passage cosine minus the question's mean cosine to the background
  sentences of ``qa/background.json`` in the passage's script;
- ``sentence_margin``: its best-sentence cosine minus the same baseline;
- ``smoothed_keyword``: its keyword strength (BM25 / reachable bound, see qa/fusion.py),
  each idf as if the collection held :data:`qa.lexical.SMOOTHING_PASSAGES` more passages
  (:func:`qa.lexical.smoothed_weights`);
- ``cross_script``: 1 when the passage's script differs from the question's;
- ``translated``: the strength of the dictionary-translated keywords (cross-script passages).

A logistic regression (numpy, L2-regularised, Newton steps) maps them to P(answers). Two
thresholds, both chosen on what ``retrieve()`` decides on:

- ``threshold`` (the *answer* tier): the lowest probability at which at most ``--answer-risk``
  (default 2%) of the unanswerable questions still get a passage that "answers";
- ``possible_threshold`` (*possibly relevant*): the highest probability at which at most
  ``--hide`` (default 0.5%) of the answerable questions of each question set have their right
  passage in the ranking's top 3 but under it, hidden.

Figures (all written to ``bench/results/calibration.json``, ``--out``):

- ``fit``: the tiers on every row with the fitted model, the unanswerable ones also by kind
  (``unrelated``, ``near``): in-sample (optimistic by construction) except the near-topic
  rows, unless ``--fit-near``;
- ``cross_validated``: the same figures on held-out questions, two ways. ``by_question``:
  5 folds, a question text's rows (answerable on its corpus, unanswerable on another) never
  split between fitting and testing. ``by_corpus``: leave one corpus out, fit on the other
  three with their thresholds, test on the fourth: the closest to a user's own documents. In
  both, the thresholds are chosen on the fitting folds only;
- ``seed``: the shipped model on the seed's questions (``tests/data/seed_questions.json``,
  never used for fitting): on-topic, and the off-topic set (general knowledge, near-topic
  questions the seed does not answer, questions about other documents; Chinese and English);
- ``matches_shipped``: whether this fit reproduces ``qa/calibration.json``.

``--write-model`` also writes the fitted model to ``qa/calibration.json``, which
``retrieve()`` uses (only when the fit itself is meant to change).

Run: ``.venv/bin/python bench/calibrate.py [--per-side 400] [--write-model]``
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
from calibration_rows import NEAR_PER_SIDE, PAIRS, collect  # noqa: E402
from doc_tables import SEED_OFF_TOPIC  # noqa: E402
from qa import calibration  # noqa: E402
from qa.calibration import FEATURES  # noqa: E402

FOLDS = 5
HIDE = 0.005  # right answers in the top 3 the possible tier may hide (goal: at most 1%)
ANSWER_RISK = 0.02
"""Unanswerable questions that may get an answer, on the fitted rows (goal: 95% refused on
questions the fit never saw). 4% and 3% were measured (docs/quality.md): both refuse fewer of
the seed's off-topic questions. Before the keyword strength was smoothed
(:func:`qa.lexical.smoothed_weights`) 4% was shipped: at 3% the plain answer in a folder of
two short files fell under the threshold."""
UNANSWERABLE = ("unrelated", "near")  # the kinds of unanswerable rows (calibration_rows)
SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions.json"
SHIPPED = ROOT / "qa" / "calibration.json"


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


def right_probability(right: np.ndarray, bias: float, coef: list[float]) -> np.ndarray:
    """The right passage's probability (NaN where the ranking has it outside the top 3)."""
    return 1 / (1 + np.exp(-(right @ np.array(coef) + bias)))


def tiers(best: np.ndarray, right: np.ndarray, y: np.ndarray, answer, possible,
          kinds: np.ndarray) -> dict:
    """Shares of answerable questions answered (a passage in the answer tier), of hidden
    right answers (in the top 3 but under ``possible``), and of unanswerable questions
    refused (no passage in the answer tier) and with nothing shown at all, in all and for
    each kind of unanswerable row (``kinds``). The thresholds are numbers or one per row."""
    answer, possible = np.broadcast_to(answer, y.shape), np.broadcast_to(possible, y.shape)
    good, bad = y == 1, y == 0
    share = lambda kept: round(float(kept.mean()), 4) if len(kept) else None  # noqa: E731
    out = {"answerable": int(good.sum()), "unanswerable": int(bad.sum()),
           "answerable_answered": share(best[good] >= answer[good]),
           "right_in_top3": share(~np.isnan(right[good])),
           "right_hidden": share(right[good] < possible[good]),
           "unanswerable_refused": share(best[bad] < answer[bad]),
           "unanswerable_nothing_shown": share(best[bad] < possible[bad])}
    for kind in UNANSWERABLE:
        mine = kinds == kind
        out[kind] = {"questions": int(mine.sum()), "refused": share(best[mine] < answer[mine]),
                     "nothing_shown": share(best[mine] < possible[mine])}
    return out


def hiding_at_most(probabilities: np.ndarray, hide: float) -> float:
    """The highest threshold under which at most ``hide`` of the rows' right passages fall
    (NaN: the right passage is not in the top 3, never hidden by a threshold)."""
    shown = np.sort(probabilities)  # NaN sorts last
    allowed = int(hide * len(shown))
    return float(shown[allowed]) if allowed < len(shown) and not np.isnan(shown[allowed]) \
        else float(np.nanmin(shown))


def calibrate(x, y, every, right, asked, hide: float, answer_risk: float):
    """Coefficients and both thresholds (see the module docstring), from the rows given; the
    possible threshold hides at most ``hide`` of the right answers of *each* question set (a
    cross-lingual set's right passages score lower than the others')."""
    bias, coef = fit(x, y)
    best = best_probability(every, bias, coef)
    answer = float(np.quantile(best[y == 0], 1 - answer_risk))
    chances = right_probability(right, bias, coef)
    possible = min(hiding_at_most(chances[(y == 1) & (asked == name)], hide)
                   for name in np.unique(asked[y == 1]))
    return bias, coef, max(answer, possible), min(answer, possible)


def subset(mask: np.ndarray, x, y, every, right, asked) -> tuple:
    """The rows ``mask`` marks, in :func:`calibrate`'s argument order (``every`` is a list)."""
    return x[mask], y[mask], [f for f, m in zip(every, mask) if m], right[mask], asked[mask]


def held_out(x, y, every, right, asked, kinds, hide: float, answer_risk: float,
             folds: np.ndarray, fitted: np.ndarray) -> dict:
    """The tiers on each fold's rows by a model and thresholds fitted on the others (only
    those ``fitted`` marks), pooled over all rows and per fold."""
    best, shown = np.zeros(len(y)), np.zeros(len(y))
    answer_at, possible_at = np.zeros(len(y)), np.zeros(len(y))
    per_fold = {}
    for fold in np.unique(folds):
        test, train = folds == fold, (folds != fold) & fitted
        bias, coef, answer, possible = calibrate(*subset(train, x, y, every, right, asked),
                                                 hide, answer_risk)
        best[test] = best_probability([f for f, t in zip(every, test) if t], bias, coef)
        shown[test] = right_probability(right[test], bias, coef)
        answer_at[test], possible_at[test] = answer, possible
        per_fold[str(fold)] = dict(tiers(best[test], shown[test], y[test], answer, possible,
                                         kinds[test]),
                                   threshold=round(answer, 4), possible_threshold=round(possible, 4))
    return dict(tiers(best, shown, y, answer_at, possible_at, kinds), folds=per_fold)


def question_folds(texts: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """A fold per row such that the rows of one question text share a fold."""
    unique = sorted(set(texts.tolist()))
    random.Random(seed).shuffle(unique)
    fold_of = {text: i % count for i, text in enumerate(unique)}
    return np.array([fold_of[t] for t in texts.tolist()])


def seed_check() -> dict:
    """The shipped model on the seed's questions (never fitted on): on-topic questions whose
    expected text is shown in the top 3 (any tier) and answered (the answer tier); off-topic
    questions refused (no passage answers) and with nothing shown, per kind."""
    import qa

    questions = json.loads(SEED_QUESTIONS.read_text(encoding="utf-8"))
    retriever = qa.default_retriever()
    shown, answered = [], []
    for item in questions["on_topic"]:
        found = [p for p in retriever.retrieve(item["q"], k=3, possible=True)
                 if item["expect"] in p.text]
        shown.append(bool(found))
        answered.append(bool(found) and found[0].tier == "answer")
    out = {"on_topic": len(shown), "on_topic_shown": sum(shown),
           "on_topic_answered": sum(answered),
           "on_topic_hidden": [i["q"] for i, s in zip(questions["on_topic"], shown) if not s]}
    for kind in SEED_OFF_TOPIC:
        results = [retriever.retrieve(q, k=3, possible=True) for q in questions[kind]]
        out[kind] = {"questions": len(results),
                     "refused": sum(all(p.tier != "answer" for p in r) for r in results),
                     "nothing_shown": sum(not r for r in results),
                     "answered": [q for q, r in zip(questions[kind], results)
                                  if any(p.tier == "answer" for p in r)]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--per-side", type=int, default=400)
    parser.add_argument("--corpora", default=",".join(PAIRS), help="comma-separated")
    parser.add_argument("--near-per-side", type=int, default=NEAR_PER_SIDE,
                        help="near-topic unanswerable rows per corpus (0: none)")
    parser.add_argument("--fit-near", action="store_true",
                        help="also fit on the near-topic rows (default: only measured on them)")
    parser.add_argument("--hide", type=float, default=HIDE,
                        help="share of answerable questions whose top-3 right passage may be hidden")
    parser.add_argument("--answer-risk", type=float, default=ANSWER_RISK,
                        help="share of unanswerable questions that may get an answer")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "calibration.json")
    parser.add_argument("--write-model", action="store_true",
                        help="also write the fitted model to qa/calibration.json")
    parser.add_argument("--no-seed", action="store_true", help="skip the seed questions")
    args = parser.parse_args()
    started = time.time()
    about = machine()
    corpora = args.corpora.split(",")
    x, y, every, right, texts, where, asked, kinds = collect(
        Path(args.bench), args.per_side, corpora, near_per_side=args.near_per_side)
    fitted = np.ones(len(y), dtype=bool) if args.fit_near else kinds != "near"
    bias, coef, answer, possible = calibrate(*subset(fitted, x, y, every, right, asked),
                                             args.hide, args.answer_risk)
    figures = dict(tiers(best_probability(every, bias, coef), right_probability(right, bias, coef),
                         y, answer, possible, kinds), rows=int(len(y)))
    model = {"features": FEATURES, "bias": bias, "coefficients": coef,
             "threshold": round(answer, 4), "possible_threshold": round(possible, 4),
             "calibrated_on": {c: PAIRS[c] for c in corpora}, "per_side": args.per_side,
             "near_per_side": args.near_per_side, "fit_near": args.fit_near,
             "hide": args.hide, "answer_risk": args.answer_risk, "figures": figures}
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    same = (shipped["features"] == FEATURES and shipped["threshold"] == model["threshold"]
            and shipped.get("possible_threshold") == model["possible_threshold"]
            and np.allclose(shipped["coefficients"], coef, rtol=1e-6)
            and np.isclose(shipped["bias"], bias, rtol=1e-6))
    if args.write_model:
        SHIPPED.write_text(json.dumps(model, indent=2) + "\n")
        calibration.load.cache_clear()
    common = (x, y, every, right, asked, kinds, args.hide, args.answer_risk)
    cross = {"by_question": dict(held_out(*common, question_folds(texts, FOLDS), fitted),
                                 method=f"{FOLDS} folds; all rows of one question text in one fold"),
             "by_corpus": dict(held_out(*common, where, fitted), method="leave one corpus out")}
    out = {"date": datetime.date.today().isoformat(), "measured": about, "hide": args.hide,
           "answer_risk": args.answer_risk,
           "model": {k: model[k] for k in ("features", "bias", "coefficients", "threshold",
                                           "possible_threshold")},
           "matches_shipped": bool(same or args.write_model), "fit": figures,
           "cross_validated": cross, "calibrated_on": model["calibrated_on"],
           "per_side": args.per_side, "near_per_side": args.near_per_side,
           "fit_near": args.fit_near}
    if not args.no_seed:
        out["seed"] = seed_check()
    out["seconds"] = round(time.time() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in out.items() if k != "cross_validated"}, indent=1,
                     ensure_ascii=False))


if __name__ == "__main__":
    main()

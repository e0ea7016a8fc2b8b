"""Dev answer accuracy of the highlighted span ("答案:") per dataset, and the fit of the span model.

For each dev question with gold answers, the first passage of the shared ranking
(``Retriever.rank``, as ``qa eval``) is taken with the evidence ``retrieve()`` computes, and its
sentences' features (:mod:`qa.span_features`). A span holds an answer when it contains a gold
answer in the passage's language (:mod:`qa.answers`: XQuAD's cross-lingual sets take the
answers of the same question id from ``xquad_zh`` / ``xquad_en``). Rules compared:

- ``before``: the best sentence by cosine + 0.2 x keyword share (the rule of issue 13);
- ``widened (issue 14)``: that sentence widened by its better neighbour while shorter than 60
  characters (180 in Latin passages, at most half the passage) or within 0.05 of the best, up to
  3 sentences, never all of them;
- ``learned on the features alone``: the conditional logit over the sentence features only
  (the rule before 2026-12-01), mass 0.9, cross-validated as below;
- ``learned, mass M``: the conditional logit of :mod:`qa.answers` over the features and their
  pairwise products (likeliest sentence, widened while the span holds under M of the
  probability or is short, the same caps), **5-fold cross-validated**: the folds split
  questions by id, so XQuAD's translations of a question stay in one fold, and each question
  is scored by a model fitted on the other four;
- ``after``: the learned rule at the chosen mass, cross-validated as above: the smallest mass
  whose mean accuracy over the datasets is within :data:`TOLERANCE` of the best mass's (a
  point of accuracy is worth the shorter highlight: from 0.8 to 0.95 the spans grow by about
  10 % and hold the answer for 0.7 points more).

Reported per rule: ``answer@1|right`` (among questions whose first passage is relevant),
``answer@1`` (all questions), mean span and passage characters. With ``--write-model`` the
model fitted on all folds is written to ``qa/span_model.json`` (what ``retrieve()`` uses).
Writes ``bench/results/answers.json`` (``--out``) and prints a Markdown table.
Run: ``.venv/bin/python bench/answers.py [--write-model]`` (about 4 minutes on two cores once
the ``qa eval`` indexes exist).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.answers import (LATIN_CHARS, MAX_SENTENCES, WIDEN_CHARS, WIDEN_SHARE,  # noqa: E402
                        TERMS, AnswerOutcome, answer_accuracy, answer_key, gold_answers,
                        holds_answer, sentence_probabilities, softmax, span_terms, widen)
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, judged, read_jsonl, read_qrels  # noqa: E402
from qa.evidence import keyword_weights, term_weights  # noqa: E402
from qa.span_features import FEATURES, sentence_features  # noqa: E402
from qa.text import script_of  # noqa: E402

DATASETS = ["cmrc2018", "drcd", "xquad_zh", "xquad_en2zh", "xquad_zh2mixed",
            "xquad_zh2halfen", "xquad_en"]
GOAL = 0.90
FOLDS = 5
MASSES = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
TOLERANCE = 0.01
FEATURES_ALONE_MASS = 0.9
FEATURES_ALONE = f"learned on the features alone (before 2026-12-01), mass {FEATURES_ALONE_MASS}"
"""The rule shipped before the pairwise products (:data:`qa.answers.TERMS`), for comparison."""
MODEL = ROOT / "qa" / "span_model.json"


@dataclass
class Case:
    """One question's first passage: its sentences' features and what the spans are checked
    against."""

    qid: str
    relevant: bool
    text: str
    spans: list
    features: np.ndarray
    gold: list
    latin: bool

    @property
    def fold(self) -> int:
        return zlib.crc32(self.qid.encode()) % FOLDS

    def holds(self) -> np.ndarray:
        return np.array([holds_answer(self.text[a:b], self.gold) for a, b in self.spans], float)

    def outcome(self, lo: int, hi: int) -> AnswerOutcome:
        start, end = (self.spans[lo][0], self.spans[hi][1]) if self.spans else (0, len(self.text))
        return AnswerOutcome(self.relevant, holds_answer(self.text[start:end], self.gold),
                             end - start, len(self.text))

    def chars(self, per_cjk: int = WIDEN_CHARS) -> float:
        return min(3 * per_cjk if self.latin else per_cjk, WIDEN_SHARE * len(self.text))

    def most(self) -> int:
        return min(MAX_SENTENCES, max(len(self.spans) - 1, 1))


def cases_of(folder: Path) -> list[Case]:
    """Every judged dev question with answers of one benchmark, as a :class:`Case`."""
    retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
    qrels = read_qrels(folder / "qrels.dev.tsv")
    key = answer_key(folder / "queries.dev.jsonl")
    queries = [q for q in judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
               if str(q["id"]) in key]
    prepared = [retriever.prepare(q["text"]) for q in queries]
    vectors = retriever.question_vectors(prepared, batch_size=64)
    index, arrays = retriever._loaded()
    cases = []
    for query, question, vector in zip(queries, prepared, vectors):
        ranking = retriever.rank(question, 1, vector)
        if not ranking:
            continue
        row = ranking[0].row
        record = index.records[row]
        evidence = retriever.evidence(question, vector)
        start, stop = arrays.first_sentence[row], arrays.first_sentence[row + 1]
        spans = np.asarray(index.sentence_spans[start:stop, 1:]).tolist()
        features = sentence_features(record.text, spans,
                                     np.asarray(evidence.sentence_cos[start:stop]).tolist(),
                                     keyword_weights(index, question), question.text,
                                     retriever.config.unigrams, term_weights(index, question))
        script = record.script or script_of(record.text)
        cases.append(Case(str(query["id"]), record.id in qrels[str(query["id"])], record.text,
                          spans, features, gold_answers(key[str(query["id"])], script),
                          script == "latin"))
    return cases


def fit(cases: list[Case], l2: float = 1e-3, steps: int = 300,
        products: bool = True) -> np.ndarray:
    """Coefficients of the conditional logit (softmax over a passage's sentences) maximising
    the likelihood of the sentences that hold an answer (Adam, on standardised features): over
    :data:`TERMS`, or over the features alone without ``products`` (the model before)."""
    terms = span_terms if products else np.asarray
    usable = [(terms(c.features), c.holds()) for c in cases if c.relevant and len(c.spans) > 1]
    usable = [(x, y / y.sum()) for x, y in usable if y.sum()]
    width, dims = max(len(y) for _, y in usable), usable[0][0].shape[1]
    features = np.zeros((len(usable), width, dims))
    target = np.zeros((len(usable), width))
    mask = np.zeros((len(usable), width), bool)
    for i, (x, y) in enumerate(usable):
        features[i, :len(y)], target[i, :len(y)], mask[i, :len(y)] = x, y, True
    mean, std = features[mask].mean(0), features[mask].std(0) + 1e-9
    scaled = np.where(mask[..., None], (features - mean) / std, 0.0)
    w, m, v = np.zeros(dims), np.zeros(dims), np.zeros(dims)
    for step in range(1, steps + 1):
        logits = np.where(mask, scaled @ w, -np.inf)
        chances = np.exp(logits - logits.max(1, keepdims=True))
        chances /= chances.sum(1, keepdims=True)
        grad = np.einsum("nsd,ns->d", scaled, chances - target) / len(usable) + l2 * w
        m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad ** 2
        w -= 0.05 * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return w / std  # softmax ignores the shift, so the mean drops out


def old_span(case: Case, gap: float, chars: int, most: int) -> tuple[int, int]:
    """The rules before the learned one: best by cosine + 0.2 x keywords, widened by score."""
    scores = case.features[:, FEATURES.index("cosine")] + \
        0.2 * case.features[:, FEATURES.index("keywords")]
    lo = hi = best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    while hi - lo + 1 < most:
        neighbours = [(scores[j], j) for j in (lo - 1, hi + 1) if 0 <= j < len(scores)]
        if not neighbours:
            break
        score, j = max(neighbours)
        if case.spans[hi][1] - case.spans[lo][0] >= chars and scores[best] - score > gap:
            break
        lo, hi = min(lo, j), max(hi, j)
    return lo, hi


def evaluate_rules(sets: dict[str, list[Case]]) -> dict[str, dict[str, list[AnswerOutcome]]]:
    """Outcomes per dataset and rule, the learned ones cross-validated."""
    everyone = [c for cases in sets.values() for c in cases]
    models = [fit([c for c in everyone if c.fold != k]) for k in range(FOLDS)]
    alone = [fit([c for c in everyone if c.fold != k], products=False) for k in range(FOLDS)]
    results: dict[str, dict[str, list[AnswerOutcome]]] = {}
    for name, cases in sets.items():
        rules: dict[str, list[AnswerOutcome]] = {}
        for case in cases:
            if not case.spans:
                for rule in ["before", "widened (issue 14)", FEATURES_ALONE,
                             *map(_learned, MASSES)]:
                    rules.setdefault(rule, []).append(case.outcome(0, 0))
                continue
            rules.setdefault("before", []).append(case.outcome(*old_span(case, 0, 0, 1)))
            rules.setdefault("widened (issue 14)", []).append(
                case.outcome(*old_span(case, 0.05, case.chars(), case.most())))
            chances = softmax(case.features @ alone[case.fold])
            rules.setdefault(FEATURES_ALONE, []).append(case.outcome(
                *widen(case.spans, chances, case.chars(), FEATURES_ALONE_MASS, case.most())))
            chances = sentence_probabilities(case.features, models[case.fold])
            for mass in MASSES:
                rules.setdefault(_learned(mass), []).append(
                    case.outcome(*widen(case.spans, chances, case.chars(), mass, case.most())))
        results[name] = rules
    return results


def _learned(mass: float) -> str:
    return f"learned, mass {mass}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "answers.json")
    parser.add_argument("--write-model", action="store_true",
                        help="write the model fitted on all dev questions to qa/span_model.json")
    args = parser.parse_args()
    sets = {}
    for name in DATASETS:
        sets[name] = cases_of(Path(args.bench) / name)
        print(name, len(sets[name]), "questions", file=sys.stderr, flush=True)
    outcomes = evaluate_rules(sets)
    scored = {name: {rule: answer_accuracy(found) for rule, found in rules.items()}
              for name, rules in outcomes.items()}

    def mean_accuracy(rule: str) -> float:
        return float(np.mean([scored[n][rule]["answer@1|right"] for n in scored]))

    best = max(mean_accuracy(_learned(m)) for m in MASSES)
    mass = min(m for m in MASSES if mean_accuracy(_learned(m)) >= best - TOLERANCE)
    for name in scored:
        scored[name]["after"] = scored[name][_learned(mass)]
    coefficients = fit([c for cases in sets.values() for c in cases])
    model = {"terms": TERMS, "coefficients": [round(float(c), 6) for c in coefficients],
             "mass": mass, "fitted_on": {n: len(c) for n, c in sets.items()},
             "by": "bench/answers.py"}
    if args.write_model:
        MODEL.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    rows = {name: {"rules": scored[name]} for name in scored}
    out = {"date": datetime.date.today().isoformat(), "measured": machine(), "titles": False,
           "goal": {"answer@1|right": GOAL}, "folds": FOLDS, "mass": mass, "model": model,
           "datasets": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("| rule | " + " | ".join(scored) + " |")
    print("|---|" + "---|" * len(scored))
    for rule in scored[DATASETS[0]]:
        print(f"| {rule} | " + " | ".join(f"{scored[n][rule]['answer@1|right']:.3f} / "
                                          f"{scored[n][rule]['span_chars']:.0f}"
                                          for n in scored) + " |")


if __name__ == "__main__":
    assert (WIDEN_CHARS, LATIN_CHARS) == (60, 180)
    main()

"""Dev answer accuracy of the highlighted span ("答案:"), before and after widening, per dataset.

For each dev question with gold answers, the first passage of the shared ranking
(``Retriever.rank``, as ``qa eval``) gets its span from each rule below, computed from the
evidence ``retrieve()`` computes; a span holds an answer when it contains a gold answer in the
passage's language (:mod:`qa.answers`: XQuAD's cross-lingual sets take the answers of the same
question id from ``xquad_zh`` / ``xquad_en``). Reported per rule: ``answer@1|right`` (among
questions whose first passage is relevant), ``answer@1`` (all questions), mean span and passage
characters. ``before`` is the rule until now (the best sentence), ``after`` is
:func:`qa.answers.answer_span`; the others are the variants tried on the way (``widen C/G/M``:
widen while shorter than C characters (3 C in Latin passages) or while the neighbour scores
within G of the best, up to M sentences; ``trim``: ``after`` narrowed to the clauses that hold
a question keyword, one clause of context each side). ``after`` widens by length only up to half
the passage (:data:`qa.answers.WIDEN_SHARE`) and never to every sentence of the passage; the
variants have neither cap.
Writes ``bench/results/answers.json`` (``--out``) and prints a Markdown table.
Run: ``.venv/bin/python bench/answers.py [--bench ../shared/bench] [--out F]`` (about 5 minutes
on two cores once the ``qa eval`` indexes exist).
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.answers import (LATIN_CHARS, WIDEN_CHARS, answer_key, answer_span,  # noqa: E402
                        scored_sentences, sentence_span, widen)
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, evaluate, judged, read_jsonl, read_qrels  # noqa: E402
from qa.lexical import tokenize  # noqa: E402
from qa.text import script_of  # noqa: E402

DATASETS = ["cmrc2018", "drcd", "xquad_zh", "xquad_en2zh", "xquad_zh2mixed",
            "xquad_zh2halfen", "xquad_en"]
GOAL = 0.90
_CLAUSE_END = re.compile(r"(?<=[，,；;：:、])")


def rule(chars: int = 0, gap: float = float("-inf"), most: int = 1,
         keyword_weight: float = 0.2):
    """A span rule like :func:`qa.answers.answer_span` with other constants."""
    def span(index, arrays, row, sentence_cos, weights, unigrams=False):
        text, spans, scores = scored_sentences(index, arrays, row, sentence_cos, weights,
                                               unigrams, keyword_weight)
        if not spans:
            return 0, len(text)
        latin = (index.records[row].script or script_of(text)) == "latin"
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        lo, hi = widen(spans, scores, best, 3 * chars if latin else chars, gap, most)
        return spans[lo][0], spans[hi][1]
    return span


def trimmed(index, arrays, row, sentence_cos, weights, unigrams=False):
    """``answer_span`` narrowed to its clauses from the first to the last that holds a question
    keyword, plus one clause each side."""
    start, end = answer_span(index, arrays, row, sentence_cos, weights, unigrams)
    text = index.records[row].text
    clauses, at = [], start
    for part in _CLAUSE_END.split(text[start:end]):
        if part:
            clauses.append((at, at + len(part)))
            at += len(part)
    keyed = [i for i, (a, b) in enumerate(clauses)
             if set(tokenize(text[a:b], unigrams)) & weights.keys()]
    if len(clauses) < 2 or not keyed:
        return start, end
    lo, hi = max(keyed[0] - 1, 0), min(keyed[-1] + 1, len(clauses) - 1)
    return clauses[lo][0], clauses[hi][1]


VARIANTS = {
    "before": sentence_span,
    "after": answer_span,
    "after without its caps (widen 60/0.05/3)": rule(chars=60, gap=0.05, most=3),
    "keyword weight 0.5": rule(keyword_weight=0.5),
    "keyword weight 1.0": rule(keyword_weight=1.0),
    "best + better neighbour": rule(chars=10 ** 9, most=2),
    "widen 40/-/3": rule(chars=40, most=3),
    "widen 60/-/3": rule(chars=60, most=3),
    "widen 80/-/2": rule(chars=80, most=2),
    "widen 100/-/3": rule(chars=100, most=3),
    "widen 0/0.05/3": rule(gap=0.05, most=3),
    "widen 40/0.05/3": rule(chars=40, gap=0.05, most=3),
    "widen 80/0.02/3": rule(chars=80, gap=0.02, most=3),
    "widen 100/0.03/3": rule(chars=100, gap=0.03, most=3),
    "trim (after, narrowed to keyword clauses)": trimmed,
}
assert (WIDEN_CHARS, LATIN_CHARS) == (60, 180)  # "after" is widen 60/0.05/3 with caps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "answers.json")
    parser.add_argument("--only", nargs="*", default=DATASETS, help="a subset of the datasets")
    args = parser.parse_args()
    rows = {}
    for name in args.only:
        folder = Path(args.bench) / name
        retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
        qrels = read_qrels(folder / "qrels.dev.tsv")
        queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
        answers = answer_key(folder / "queries.dev.jsonl")
        result = evaluate(retriever, queries, qrels, answers=answers, spans=VARIANTS)
        rows[name] = {key: result[key] for key in ("queries", "recall@1", "mrr@10")}
        rows[name]["rules"] = result["answers"]
        print(name, json.dumps({v: (r["answer@1|right"], r["span_chars"])
                                for v, r in result["answers"].items()}, ensure_ascii=False),
              file=sys.stderr, flush=True)
    out = {"date": datetime.date.today().isoformat(), "measured": machine(), "titles": False,
           "goal": {"answer@1|right": GOAL}, "datasets": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    names = list(rows)
    print("| rule | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for variant in VARIANTS:
        cells = [f"{rows[n]['rules'][variant]['answer@1|right']:.3f} / "
                 f"{rows[n]['rules'][variant]['span_chars']:.0f}" for n in names]
        print(f"| {variant} | " + " | ".join(cells) + " |")
    print("| passage characters | " + " | ".join(
        f"{rows[n]['rules']['after']['passage_chars']:.0f}" for n in names) + " |")
    print("| answer@1 over all questions, before -> after | " + " | ".join(
        f"{rows[n]['rules']['before']['answer@1']:.3f} -> "
        f"{rows[n]['rules']['after']['answer@1']:.3f}" for n in names) + " |")


if __name__ == "__main__":
    main()

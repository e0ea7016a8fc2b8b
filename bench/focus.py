"""The weights of the ranking's last step (``qa/focus.py``) on the dev halves, and what drcd's
remaining misses are.

For each dev set and question, the evidence without the focus step (``Recipe(focus_depth=0)``)
is computed once by the shipped code, and the shipped :func:`qa.focus.focus` is applied to it
twice, with sentence weight 1 and passage weight 0 and the reverse, which gives each of the best
10 passages' two shares. Every point of the grid ``focus_sentence_weight`` x
``focus_passage_weight`` (0-2) is then ranked from those shares with the focus step's rule (a
passage in another script gains the best same-script gain; long questions fade it out). The
shipped point is checked against ``Retriever.rank`` itself, question by question
(``disagreements_with_rank``: questions whose order differs, which only scores within a
float32 step of each other can do).

Also, on the sets whose questions carry answers in their passages' language (cmrc2018, drcd,
xquad_zh), how many of the final ranking's wrong first passages hold a gold answer themselves
(:func:`qa.answers.holds_answer`): paragraphs repeating the judged paragraph's fact.

Writes ``bench/results/focus.json`` (``--out``), rendered into docs/quality.md.
Run: ``.venv/bin/python bench/focus.py`` (about 6 minutes on two cores once the ``qa eval``
indexes exist).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dev_set  # noqa: E402
from about import machine  # noqa: E402
from qa import fusion  # noqa: E402
from qa.answers import holds_answer  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evidence import keyword_weights  # noqa: E402
from qa.focus import focus  # noqa: E402
from qa.selection import best_rows  # noqa: E402

DATASETS = dev_set.DEV_SETS
ANSWERED = {"cmrc2018", "drcd", "xquad_zh"}  # answers in the passages' language
WEIGHTS = [0, 0.5, 1, 1.5, 2]
SHIPPED = fusion.Recipe()
DEPTH = 10


def shares(retriever, question, vector) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                 float]:
    """The unfocused ranking's best ``focus_depth`` rows, their fused scores, sentence and
    passage shares (``nan`` for passages in another script) and the question's fade (1: short)."""
    retriever.recipe = replace(SHIPPED, focus_depth=0)
    evidence = retriever.evidence(question, vector)
    index, arrays = retriever.index, retriever._loaded()[1]
    weights = keyword_weights(index, question)  # what gather() gives the focus step
    top = best_rows(evidence.fused, SHIPPED.focus_depth, evidence.rows)
    found = []
    for sentence_weight, passage_weight in ((1.0, 0.0), (0.0, 1.0)):
        recipe = replace(SHIPPED, focus_sentence_weight=sentence_weight,
                         focus_passage_weight=passage_weight)
        gained = focus(evidence, arrays.focus_passages, weights, 0, recipe)  # 0: unfaded
        found.append((gained.fused - evidence.fused)[top])
    cross = evidence.cross[top] > 0
    sentence, passage = (np.where(cross, np.nan, f) for f in found)
    fade = 1.0 - fusion.length_share(len(question.tokens), SHIPPED)
    return top, evidence.fused[top], sentence, passage, fade


def ranked(top, fused, sentence, passage, fade, sentence_weight, passage_weight) -> list[int]:
    """``top`` reordered by the focus step with these weights."""
    gain = sentence_weight * sentence + passage_weight * passage
    same = gain[~np.isnan(gain)]
    gain = np.where(np.isnan(gain), same.max() if len(same) else 0.0, gain)
    order = np.argsort(-(fused + (fade * gain).astype(np.float32)), kind="stable")  # as focus()
    return top[order].tolist()


def measure(folder: Path, settings: Settings) -> tuple[dict, dict | None]:
    dev = dev_set.load(folder, settings)
    retriever, queries = dev.retriever, dev.queries
    points = list(itertools.product(WEIGHTS, WEIGHTS))
    tallies = {point: dev_set.Tally() for point in points}
    wrong = holding = disagreements = 0
    for query, question, vector, relevant in zip(queries, dev.questions, dev.vectors,
                                                 dev.relevant):
        found = shares(retriever, question, vector)
        for point in points:
            tallies[point].add(ranked(*found, *point), relevant)
        retriever.recipe = SHIPPED
        shipped = [r.row for r in retriever.rank(question, DEPTH, vector)]
        expected = ranked(*found, SHIPPED.focus_sentence_weight, SHIPPED.focus_passage_weight)
        disagreements += shipped[:len(expected)] != expected  # only ties may differ
        if shipped[0] not in relevant:
            wrong += 1
            holding += holds_answer(retriever.index.records[shipped[0]].text,
                                    query.get("answers") or [])
    n = len(queries)
    grid = [{"sentence_weight": s, "passage_weight": p,
             **{k: v for k, v in tallies[s, p].result(n).items() if k in ("recall@1", "mrr@10")}}
            for s, p in points]
    misses = {"questions": n, "wrong_first": wrong, "first_holds_an_answer": holding} \
        if folder.name in ANSWERED else None
    return {"queries": n, "grid": grid, "disagreements_with_rank": disagreements}, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "focus.json")
    args = parser.parse_args()
    started = time.time()
    about = machine()
    sets, misses = {}, {}
    for name in args.datasets.split(","):
        sets[name], missed = measure(Path(args.bench) / name, Settings.from_env())
        if missed:
            misses[name] = missed
        print(f"{name}: {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    out = {"date": datetime.date.today().isoformat(), "measured": about,
           "shipped": {"sentence_weight": SHIPPED.focus_sentence_weight,
                       "passage_weight": SHIPPED.focus_passage_weight,
                       "depth": SHIPPED.focus_depth},
           "sets": sets, "misses": misses, "seconds": round(time.time() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

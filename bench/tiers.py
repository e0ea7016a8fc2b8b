"""The tiers on every dev set with the shipped model: how often a right answer is hidden.

For each dev question of ``../shared/bench`` (the eight sets), the ranking's top 3 and each
passage's calibrated probability (``qa/calibration.json``, as ``retrieve()`` computes them):

- ``right_in_top3``: a relevant passage is among the ranking's first three;
- ``hidden``: ... and none of those is shown, i.e. every relevant one in the top 3 is under the
  *possibly relevant* threshold (the chat shows the top 3 of the passages over it);
- ``answered``: the best passage over the threshold is in the *answer* tier;
- ``right_first_answered``: the first shown passage is relevant and in the answer tier.

Writes ``bench/results/tiers.json`` (``--out``). The calibration was fitted on 400-question
samples of four of these sets (bench/calibrate.py), so the figures on those four are partly
in-sample; meddialog_zh, xquad_zh2mixed and xquad_zh2halfen were never fitted on.
Run: ``.venv/bin/python bench/tiers.py [--sets a,b] [--bench ../shared/bench]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa import calibration  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, judged, read_jsonl, read_qrels  # noqa: E402

SETS = ("cmrc2018", "drcd", "xquad_zh", "xquad_en2zh", "xquad_zh2mixed", "xquad_zh2halfen",
        "xquad_en", "meddialog_zh")


def measure(retriever, queries: list[dict], qrels: dict[str, set[str]]) -> dict:
    """The shares above over ``queries``."""
    ids = [r.id for r in retriever.index.records]
    answer, possible = calibration.threshold(), calibration.possible_threshold()
    prepared = [retriever.prepare(q["text"]) for q in queries]
    vectors = retriever.question_vectors(prepared, batch_size=64)
    counts = dict.fromkeys(("right_in_top3", "hidden", "answered", "right_first_answered"), 0)
    for query, question, vector in zip(queries, prepared, vectors):
        relevant = qrels[str(query["id"])]
        evidence = retriever.evidence(question, vector)
        rows = np.arange(len(evidence.fused)) if evidence.rows is None else evidence.rows
        chance = dict(zip(rows.tolist(), calibration.probabilities(evidence, rows).tolist()))
        top3 = [r.row for r in retriever.rank(question, 3, vector)]
        right = [r for r in top3 if ids[r] in relevant]
        counts["right_in_top3"] += bool(right)
        counts["hidden"] += bool(right) and all(chance[r] < possible for r in right)
        shown = sorted((r for r in rows.tolist() if chance[r] >= possible),
                       key=lambda r: -evidence.fused[r])
        counts["answered"] += bool(shown) and chance[shown[0]] >= answer
        counts["right_first_answered"] += (bool(shown) and chance[shown[0]] >= answer
                                           and ids[shown[0]] in relevant)
    n = len(queries)
    return {"questions": n, **{k: round(v / n, 4) for k, v in counts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "tiers.json")
    args = parser.parse_args()
    started, about, settings = time.time(), machine(), Settings.from_env()
    out = {"date": datetime.date.today().isoformat(), "measured": about,
           "threshold": calibration.threshold(),
           "possible_threshold": calibration.possible_threshold(), "sets": {}}
    for name in args.sets.split(","):
        folder = Path(args.bench) / name
        retriever = corpus_retriever(folder / "corpus.jsonl", settings, progress=False)
        qrels = read_qrels(folder / "qrels.dev.tsv")
        out["sets"][name] = measure(retriever, judged(read_jsonl(folder / "queries.dev.jsonl"),
                                                      qrels), qrels)
        print(name, out["sets"][name], file=sys.stderr, flush=True)
    out["seconds"] = round(time.time() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""The tiers in collections of a few short documents, before and after the smoothed keyword
strength (:func:`qa.lexical.smoothed_weights`).

In a collection of a few passages every token present has a low idf while a question's absent
tokens keep the highest, so the plain keyword strength of a right answer stays low there and a
strict answer threshold used to hide it in the *possibly relevant* tier. For each case below
(the small collections of the tests: an upload to an empty library, a watched folder of two or
three short files), the best-ranked passage's probability under

- ``now``: the shipped model (``qa/calibration.json``) over the smoothed keyword strength, and
- ``before``: the model shipped before (``bench/results/calibration_unsmoothed.json``, 4%
  answer risk) over the plain keyword strength, the ranking being the same,

each with its tier. Questions the collection does not answer are listed too: their best passage
should stay out of the answer tier.

Writes ``bench/results/small_collections.json`` (``--out``).
Run: ``.venv/bin/python bench/small_collections.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from doc_tables import load_json  # noqa: E402
from qa import calibration  # noqa: E402
from qa.calibration import FEATURES, features_of  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.lexical import SMOOTHING_PASSAGES  # noqa: E402
from qa.retriever import Retriever  # noqa: E402
from qa.selection import best_rows  # noqa: E402

WATER = "宁海县第三水厂从2006年开始土地征用工作，共征地150亩。"
BANK = "银行在大厅一角设置了老年休息区，配有老花镜和血压计。"
WELL = "村里的古井已有三百多年历史，井水至今清澈甘甜。"
# name -> (files, [(question, answered by the collection)])
CASES = {
    "one passage (an upload to an empty library)": (
        {"note.md": "# 古井\n\n村口的古井有三百年历史。\n"},
        [("古井有多少年历史?", True), ("How old is the well?", True),
         ("古井有多深?", False), ("怎么做红烧肉?", False)]),
    "one passage, a year": (
        {"well.md": "# 古井\n\n渔村的古井挖于1890年，井深二十一米。\n"},
        [("渔村的古井是哪一年挖的?", True), ("古井有多深?", True),
         ("古井的水能喝吗?", False)]),
    "two short files": (
        {"water.txt": WATER, "well.txt": WELL},
        [("古井有多少年历史?", True), ("第三水厂征地多少亩?", True),
         ("第三水厂每天供水多少吨?", False), ("老年休息区有什么?", False)]),
    "three short files": (
        {"water.txt": WATER, "bank.txt": BANK, "well.txt": WELL},
        [("古井有多少年历史?", True), ("老年休息区有什么?", True),
         ("第三水厂征地多少亩?", True), ("银行几点开门?", False)]),
}


def measure(retriever: Retriever, question: str, before: dict, now: dict) -> dict:
    """The best-ranked passage and its probability and tier under both models."""
    prepared = retriever.prepare(question)
    evidence = retriever.evidence(prepared)
    row = int(best_rows(evidence.fused, 1, evidence.rows)[0])
    smoothed = features_of(evidence, np.array([row]))
    plain = smoothed.copy()
    plain[0, FEATURES.index("smoothed_keyword")] = evidence.keyword[row]
    out = {"passage": retriever.index.records[row].text[:40]}
    for name, model, features in (("before", before, plain), ("now", now, smoothed)):
        chance = float(calibration.chances(features, model)[0])
        tier = "answer" if chance >= model["threshold"] else \
            "possible" if chance >= model["possible_threshold"] else "not found"
        out[name] = {"probability": round(chance, 4), "tier": tier}
    out["keyword"] = {"plain": round(float(evidence.keyword[row]), 4),
                      "smoothed": round(float(evidence.smoothed_keyword[row]), 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "small_collections.json")
    args = parser.parse_args()
    before, now = load_json("calibration_unsmoothed")["model"], calibration.load()
    assert before["features"] == [f.replace("smoothed_", "") for f in FEATURES], before
    settings = Settings.from_env()
    cases = []
    with tempfile.TemporaryDirectory() as folder:
        for number, (name, (files, questions)) in enumerate(CASES.items()):
            docs = Path(folder) / f"docs{number}"
            docs.mkdir()
            for file_name, text in files.items():
                (docs / file_name).write_text(text, encoding="utf-8")
            retriever = Retriever(Path(folder) / f"index{number}", documents=[docs],
                                  settings=settings, progress=False)
            for question, answered in questions:
                cases.append(dict(collection=name, question=question, answered_by_it=answered,
                                  **measure(retriever, question, before, now)))
    out = {"date": datetime.date.today().isoformat(), "measured": machine(),
           "smoothing_passages": SMOOTHING_PASSAGES,
           "thresholds": {name: {"answer": m["threshold"], "possible": m["possible_threshold"]}
                          for name, m in (("before", before), ("now", now))},
           "cases": cases}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for case in cases:
        print(case["collection"][:20], case["question"], case["answered_by_it"],
              case["before"], case["now"])


if __name__ == "__main__":
    main()

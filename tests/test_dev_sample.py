"""Recall floors on a small frozen sample of the dev sets (``tests/data/dev_sample``, made by
``bench/dev_sample.py``: 30 questions per set, their gold passages and 30 distractors).

Measured there (``bench/results/dev_sample.json``, 2026-11-29): recall@1 cmrc2018 1.0, drcd
0.967, xquad_en2zh 0.933, xquad_zh2halfen 0.933; recall@5 0.967-1.0. Each floor allows three
questions (0.10) fewer at rank 1 and two fewer in the top five, for differences between
machines' int8 kernels; a broken signal (no dense side, no translated keywords, no Traditional
mapping) falls well below. The full dev halves are measured by ``bench/components.py``.
"""

from pathlib import Path

import pytest

from qa.evaluate import run_eval

SAMPLE = Path(__file__).resolve().parent / "data" / "dev_sample"
FLOORS = {"cmrc2018": (0.90, 0.93), "drcd": (0.86, 0.93), "xquad_en2zh": (0.83, 0.93),
          "xquad_zh2halfen": (0.83, 0.90)}  # (recall@1, recall@5)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_recall_floors_on_the_dev_sample(settings, encoder, name):
    folder = SAMPLE / name
    result = run_eval(folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels.tsv",
                      settings, progress=False)
    at1, at5 = FLOORS[name]
    assert result["queries"] == 30
    assert result["recall@1"] >= at1 and result["recall@5"] >= at5, result

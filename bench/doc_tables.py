"""What the table modules share: reading ``bench/results/*.json`` and formatting its figures."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GOALS = {"cmrc2018": 0.985, "drcd": 0.955, "xquad_zh": 0.975, "xquad_en2zh": 0.900,
         "xquad_zh2mixed": 0.970, "xquad_zh2halfen": 0.900, "xquad_en": 0.975,
         "meddialog_zh": 0.277}  # issue 14's recall@1 goals (held-out halves)
SHORT = {"xquad_en2zh": "en2zh", "xquad_zh2mixed": "zh2mixed", "xquad_zh2halfen": "zh2halfen"}


def load_json(name: str) -> dict:
    """``bench/results/NAME.json``."""
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def value_at(name: str, path: str):
    """The value at ``path`` (keys joined by ``/``, list indexes as numbers) in ``NAME.json``."""
    value = load_json(name)
    for key in path.split("/"):
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def components_sets() -> dict:
    """Per dev set, recall of each evidence and of the final ranking (bench/components.py)."""
    data = load_json("components")
    return data.get("datasets", data)


def measured(about: dict) -> str:
    """``2026-11-29, 2-core AMD EPYC, commit 4e8d757`` from a ``measured`` record
    (bench/about.py)."""
    text = f"{about['date']}, {about['cores']}-core {about.get('cpu', 'CPU')}"
    return text + (f", commit {about['commit']}" if about.get("commit") else "")


def ms(value: float) -> str:
    """Milliseconds, one decimal under 100."""
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


SEED_OFF_TOPIC = ("off_topic", "near_topic", "other_documents")
"""The kinds of the seed's off-topic questions (tests/data/seed_questions.json): general
knowledge, near-topic, other documents."""


def seed_off_topic(seed: dict) -> tuple[int, int]:
    """The seed's off-topic questions refused, and asked, over :data:`SEED_OFF_TOPIC` in a
    ``calibration.json`` ``seed`` record."""
    return (sum(seed[k]["refused"] for k in SEED_OFF_TOPIC),
            sum(seed[k]["questions"] for k in SEED_OFF_TOPIC))


def row(*cells) -> str:
    """A Markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def header(*columns: str) -> list[str]:
    """A Markdown table's header and separator lines."""
    return [row(*columns), "|" + "---|" * len(columns)]

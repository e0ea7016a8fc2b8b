"""Tables of the README and docs rendered from the JSON the benchmarks write.

A table lives between ``<!-- render: NAME -->`` and ``<!-- /render -->`` in a Markdown file;
``NAME`` is one of :data:`TABLES`, each a function of the JSON files in ``bench/results/``.
``python bench/render.py`` rewrites every such table; ``--check`` only reports the tables that
differ from their JSON (exit status 1), and ``tests/test_docs.py`` runs it in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- render: (\w+) -->\n)(.*?)(<!-- /render -->)", re.S)
GOALS = {"cmrc2018": 0.970, "drcd": 0.930, "xquad_zh": 0.950, "xquad_en2zh": 0.800,
         "xquad_zh2mixed": 0.950, "xquad_zh2halfen": 0.750, "xquad_en": 0.960}


def _json(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def components() -> list[str]:
    """Recall of each evidence alone and of the final ranking (bench/components.py)."""
    rows = ["| dataset | keyword R@1 / MRR@10 | + translated keywords | dense R@1 / MRR@10 | "
            "final R@1 / MRR@10 | final R@5 | goal R@1 |", "|---|---|---|---|---|---|---|"]
    for name, result in _json("components").items():
        pair = [f"{result[k]['recall@1']:.3f} / {result[k]['mrr@10']:.3f}"
                for k in ("keyword", "keyword+translated", "dense", "final")]
        goal = f"≥ {GOALS[name]:.3f}" if name in GOALS else ""
        rows.append(f"| {name} | {' | '.join(pair)} | {result['final']['recall@5']:.3f} | {goal} |")
    return rows


def int8_cosine() -> list[str]:
    """Cosine of the 8-bit passage path to fp32 (bench/int8_cosine.py)."""
    result = _json("int8_cosine")
    rows = ["| texts | n | min | 0.1th pct | 1st pct | mean |", "|---|---|---|---|---|---|"]
    for kind in ("passages", "sentences", "all"):
        r = result[kind]
        rows.append(f"| {kind} | {r['n']:,} | {r['min']:.4f} | {r['p0.1']:.4f} | {r['p1']:.4f} | "
                    f"{r['mean']:.4f} |")
    return rows


def load() -> list[str]:
    """Chat latency under load with hostile uploads in the middle (bench/load.py)."""
    result = _json("load")
    rows = ["| window | replies | p50 | p95 |", "|---|---|---|---|"]
    for key, label in (("before_uploads", "before the uploads"),
                       ("during_uploads", "during the hostile uploads"),
                       ("after_uploads", "after them")):
        r = result[key]
        rows.append(f"| {label} | {r['requests']:,} | {r['p50_ms']:,} ms | {r['p95_ms']:,} ms |")
    rows.append(f"| all ({result['clients']} clients, {result['seconds']:.0f} s) | "
                f"{result['requests']:,} ({result['errors']} errors) | {result['p50_ms']:,} ms | "
                f"{result['p95_ms']:,} ms |")
    return rows


TABLES = {"components": components, "int8_cosine": int8_cosine, "load": load}


def render(text: str) -> str:
    """``text`` with every table block rendered anew."""
    def fill(match: re.Match) -> str:
        lines = TABLES[match.group(2)]()
        return match.group(1) + "\n".join(lines) + "\n" + match.group(4)
    return BLOCK.sub(fill, text)


def stale(documents=DOCUMENTS) -> list[str]:
    """The documents whose tables differ from what their JSON renders."""
    return [str(p.relative_to(ROOT)) for p in documents
            if render(p.read_text(encoding="utf-8")) != p.read_text(encoding="utf-8")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale tables, change nothing")
    args = parser.parse_args()
    if args.check:
        out = stale()
        print("\n".join(f"{name}: a table differs from its JSON; run bench/render.py"
                        for name in out) or "all tables match their JSON")
        sys.exit(1 if out else 0)
    for path in DOCUMENTS:
        path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()

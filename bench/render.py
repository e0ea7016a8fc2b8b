"""Tables and figures of the README and docs rendered from the JSON the benchmarks write.

A table lives between ``<!-- render: NAME -->`` and ``<!-- /render -->`` in a Markdown file;
``NAME`` is one of :data:`TABLES`, each a function of the JSON files in ``bench/results/``.
A figure in running prose lives between ``<!-- value: FILE PATH FORMAT -->`` and
``<!-- /value -->``: the value at ``PATH`` (keys joined by ``/``) in ``bench/results/FILE.json``,
written with the Python format spec ``FORMAT`` (``.1f``, ``.0%``, ``,``; omitted: as is).
``python bench/render.py`` rewrites every such block; ``--check`` only reports the documents
whose blocks differ from their JSON (exit status 1), and ``tests/test_docs.py`` runs it in
``make test``. A block naming a missing table, file or key is an error, never left as it was.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import tables_chat
import tables_int8
import tables_quality
import tables_speed
import tables_tiers
from doc_tables import components_sets, load_json, measured, ms, seed_off_topic, value_at

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- render: (\w+) -->\n)(.*?)(<!-- /render -->)", re.S)
VALUE = re.compile(r"(<!-- value: (\w+) (\S+?)(?: (\S+))? -->)(.*?)(<!-- /value -->)", re.S)


def documents() -> list[Path]:
    """The Markdown files whose blocks are rendered: the README and ``docs/*.md``."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def quality() -> list[str]:
    """The README's quality table: per dev set, recall, the answering span, hidden answers."""
    sets, spans = components_sets(), load_json("answers")["datasets"]
    hidden = load_json("tiers")["sets"]
    rows = ["| dev set | R@1 / MRR@10 | span holds the answer¹ | "
            "right answer hidden² |", "|---|---|---|---|"]
    for name, r in sets.items():
        span = spans.get(name, {}).get("rules", {}).get("after")
        held = f"{span['answer@1|right']:.3f}" if span else "—"
        rows.append(f"| {name} | {r['final']['recall@1']:.3f} / {r['final']['mrr@10']:.3f} | "
                    f"{held} | {hidden[name]['hidden']:.1%} |")
    return rows


def figures() -> list[str]:
    """The README's other figures: "not found" on held-out and off-topic questions, speed."""
    speed, latency = load_json("speed"), load_json("latency")
    build = load_json("build_speed")["issue"]
    calibration = load_json("calibration")
    held_out, seed = calibration["cross_validated"]["by_question"], calibration["seed"]
    refused, asked = seed_off_topic(seed)
    first = speed["first_run"]
    rows = [
        "| figure | value | from |", "|---|---|---|",
        "| held-out dev questions: right answers hidden / unrelated, near-topic refused | "
        f"{held_out['right_hidden']:.1%} / {held_out['unrelated']['refused']:.1%}, "
        f"{held_out['near']['refused']:.1%} | `bench/calibrate.py` |",
        f"| the seed's off-topic questions refused (general, near-topic, other files) | "
        f"{refused} of {asked} | `bench/calibrate.py` |",
        f"| `retrieve()` on the seed, p50 / p95 | {ms(latency['seed']['p50_ms'])} / "
        f"{ms(latency['seed']['p95_ms'])} | `bench/latency.py` |",
        f"| `qa build` of a folder (start, passages and sentences embedded, keywords, "
        f"written) / sentence-transformers fp32 on its passages | "
        f"{build['build_passages_per_s']:.1f} / {build['baseline_passages_per_s']:.1f} "
        f"passages/s (**{build['ratio']:.2f}x**) | `bench/build_speed.py` |",
        f"| first run only: model conversion / 8-bit export | {first['conversion_s']:.1f} s / "
        f"{first['export_s']:.1f} s | `bench/speed.py` |",
    ]
    machines = sorted({measured(x["measured"]) for x in
                       (build, speed["first_run"], latency)})
    rows += ["", f"Dev halves of `../shared/bench`, paragraphs without titles; timings measured "
                 f"{'; '.join(machines)}."]
    return rows


ENDPOINT_LABELS = {
    "chat": "chat page", "api_retrieve": "`/api/retrieve`", "v1_chat": "`/v1/chat/…`",
    "v1_chat_stream": "`/v1/chat/…` streamed", "documents_upload": "upload (API)",
    "documents_list": "list", "documents_delete": "delete", "page_upload": "upload (page)",
}


def load_endpoints() -> list[str]:
    """The README's load table: per endpoint, requests, errors, p50 and p95 under
    ``bench/load.py``'s chat-page and API clients; then the totals and the peak memory."""
    result = load_json("load")
    rows = ["| endpoint | requests | errors | p50 / p95 |", "|---|---|---|---|"]
    for name, r in result["endpoints"].items():
        times = f"{r['p50_ms']:,} / {r['p95_ms']:,} ms" if "p50_ms" in r else "—"
        rows.append(f"| {ENDPOINT_LABELS.get(name, name)} | {r['requests']:,} | "
                    f"{r['errors']} | {times} |")
    total = result["total"]
    rows.append(f"| all ({result['seconds']:.0f} s) | {total['requests']:,} | {total['errors']} | "
                f"{total['requests_per_s']:,.1f}/s |")
    rows += ["", f"Peak memory {result['server_peak_rss_mb']:,} MB; "
                 f"{measured(result['measured'])}."]
    return rows


def _tables() -> dict:
    """Every table by name: the README's and those of each docs page's module."""
    found = {"figures": figures, "quality": quality, "load_endpoints": load_endpoints}
    for module in (tables_quality, tables_tiers, tables_int8, tables_speed, tables_chat):
        found.update({name: f for name, f in vars(module).items()
                      if callable(f) and not name.startswith("_")
                      and getattr(f, "__module__", None) == module.__name__})
    return found


TABLES = _tables()


def _format(value, spec: str | None) -> str:
    return str(value) if spec is None else format(value, spec)


def render(text: str) -> str:
    """``text`` with every table and value block rendered anew.

    Raises:
        KeyError, FileNotFoundError: a block names a table, file or key that does not exist.
    """
    def fill(match: re.Match) -> str:
        lines = TABLES[match.group(2)]()
        return match.group(1) + "\n".join(lines) + "\n" + match.group(4)

    def value(match: re.Match) -> str:
        return match.group(1) + _format(value_at(match.group(2), match.group(3)),
                                        match.group(4)) + match.group(6)

    return VALUE.sub(value, BLOCK.sub(fill, text))


def stale(paths: list[Path] | None = None) -> list[str]:
    """The documents whose blocks differ from what their JSON renders."""
    out = []
    for path in paths if paths is not None else documents():
        text = path.read_text(encoding="utf-8")
        if render(text) != text:
            out.append(str(path.relative_to(ROOT)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale blocks, change nothing")
    args = parser.parse_args()
    if args.check:
        out = stale()
        print("\n".join(f"{name}: a table or value differs from its JSON; run bench/render.py"
                        for name in out) or "all tables and values match their JSON")
        sys.exit(1 if out else 0)
    for path in documents():
        text = path.read_text(encoding="utf-8")
        if render(text) != text:
            path.write_text(render(text), encoding="utf-8")


if __name__ == "__main__":
    main()

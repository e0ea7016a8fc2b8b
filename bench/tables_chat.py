"""Tables of docs/chat.md: load with hostile uploads, hostile inputs, the limits (from
load.json, parse_hostile.json and qa/limits.py)."""

from __future__ import annotations

import ast

from doc_tables import ROOT, load_json


def load() -> list[str]:
    """Chat latency under load with hostile uploads in the middle (bench/load.py)."""
    result = load_json("load")
    rows = ["| window | replies | p50 | p95 |", "|---|---|---|---|"]
    for key, label in (("before_uploads", "before the uploads"),
                       ("during_uploads", "during the hostile uploads"),
                       ("after_uploads", "after them")):
        r = result[key]
        rows.append(f"| {label} | {r['requests']:,} | {r['p50_ms']:,} ms | {r['p95_ms']:,} ms |")
    clients = f"{result.get('chat_clients', result['clients'])} chat clients"
    if result.get("api_clients"):
        clients += f" beside {result['api_clients']} API clients"
    rows.append(f"| all ({clients}, {result['seconds']:.0f} s) | "
                f"{result['requests']:,} ({result['errors']} errors) | {result['p50_ms']:,} ms | "
                f"{result['p95_ms']:,} ms |")
    return rows


def load_uploads() -> list[str]:
    """What each upload during the load test took and got (bench/load.py)."""
    result = load_json("load")
    rows = ["| upload during the load | seconds | reply |", "|---|---|---|"]
    for name, r in result["uploads"].items():
        reply = r["reply"].replace("\\", "").replace("|", "/")
        rows.append(f"| `{name}` | {r['seconds']:.1f} | {reply} |")
    rows += ["", f"Server's peak memory: {result['server_peak_rss_mb']:,} MB."]
    return rows


def parse_hostile() -> list[str]:
    """Hostile 1 MB-class inputs read and chunked in a fresh process (bench/parse_hostile.py)."""
    rows = ["| input | size | outcome | seconds | peak memory |", "|---|---|---|---|---|"]
    for name, r in load_json("parse_hostile")["cases"].items():
        outcome = "refused" if "refused" in r else \
            f"{r['passages']:,} passage{'s' if r['passages'] != 1 else ''}"
        rows.append(f"| {name.replace('_', ' ')} | {r['bytes'] / 2**20:.1f} MB | {outcome} | "
                    f"{r['total_s']:.2f} | {r['peak_rss_mb']} MB |")
    return rows


def limits() -> list[str]:
    """Every constant of ``qa/limits.py`` with its comment (read from the source, not imported:
    the docs follow the code, and a changed limit makes ``--check`` fail until re-rendered)."""
    source = (ROOT / "qa" / "limits.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    rows = ["| limit (`qa/limits.py`) | value | note |", "|---|---|---|"]
    known: dict = {"__builtins__": {}}  # a limit may be made of those before it
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            value = eval(compile(ast.Expression(node.value), "limits", "eval"), known)
            known[name] = value
            if name.endswith("_BYTES"):
                shown = f"{value / 2**30:g} GB" if value >= 2**30 else f"{value / 2**20:g} MB"
            elif name.endswith("_SECONDS"):
                shown = f"{value:g} s"
            else:
                shown = f"{value:,}"
            note = lines[node.lineno - 1].partition("#")[2].strip()
            rows.append(f"| `{name}` | {shown} | {note} |")
    return rows

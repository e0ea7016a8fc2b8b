"""Tables of docs/quality.md about the 8-bit passage path (issue 17): recall with each path,
cosine to fp32, recall question by question against an earlier commit, down projections kept
fp32 (from speed.json, int8_cosine.json, recall_pairs.json and int8_layers.json)."""

from __future__ import annotations

from doc_tables import load_json


def recall_paths() -> list[str]:
    """Dev recall@1 with each passage path and with fp16 vectors (bench/speed.py)."""
    data = load_json("speed")["recall"]
    rows = ["| dataset | fp32 passages (`QA_PASSAGE_BACKEND=torch`) | 8-bit (default) | "
            "8-bit, vectors stored fp16 (compact) |", "|---|---|---|---|"]
    for name, r in data.items():
        if name != "measured":
            rows.append(f"| {name} | {r['fp32']:.4f} | {r['int8']:.4f} | "
                        f"{r['int8_fp16_vectors']:.4f} |")
    return rows


def int8_cosine() -> list[str]:
    """Cosine of the 8-bit passage path to fp32 (bench/int8_cosine.py)."""
    result = load_json("int8_cosine")
    rows = ["| texts | n | min | 0.1th pct | 1st pct | mean |", "|---|---|---|---|---|---|"]
    for kind in ("passages", "sentences", "all"):
        r = result[kind]
        rows.append(f"| {kind} | {r['n']:,} | {r['min']:.4f} | {r['p0.1']:.4f} | {r['p1']:.4f} | "
                    f"{r['mean']:.4f} |")
    return rows


def recall_pairs() -> list[str]:
    """Dev recall@1 of two commits question by question (bench/recall_pairs.py)."""
    result = load_json("recall_pairs")
    before = result["before_commit"]
    rows = [f"| dev set | R@1 / MRR@10 at {before} | R@1 / MRR@10 after (commit) | "
            "first only before / only after | McNemar p |", "|---|---|---|---|---|"]
    for name, r in result["sets"].items():
        after = r.get("after_commit", result["after_commit"])
        rows.append(f"| {name} | {r['before']['recall@1']:.4f} / {r['before']['mrr@10']:.4f} | "
                    f"{r['after']['recall@1']:.4f} / {r['after']['mrr@10']:.4f} ({after}) | "
                    f"{r['lost']} / {r['won']} | {r['mcnemar_p']:.2f} |")
    return rows


def int8_layers() -> list[str]:
    """Down projections kept fp32 in the 8-bit export: cosine and time (bench/int8_layers.py)."""
    result = load_json("int8_layers")
    variants = result["variants"]
    rows = ["| down projections kept fp32 | mean cosine to fp32 | 1st pct | min | seconds |",
            "|---|---|---|---|---|"]
    layers = [name for name in variants if name.startswith("layer ")]
    best = max(layers, key=lambda name: variants[name]["cosine"]["mean"])
    trial = ", ".join(map(str, variants["trial"]["fp32_layers"]))
    for name, label in (("none", "none (shipped)"), (best, f"{best} alone (the best single one)"),
                        ("trial", f"layers {trial}"), ("all", "all twelve")):
        r = variants[name]
        seconds = f"{r['median_s']:.1f}" if "median_s" in r else "—"
        rows.append(f"| {label} | {r['cosine']['mean']:.5f} | {r['cosine']['p1']:.5f} | "
                    f"{r['cosine']['min']:.5f} | {seconds} |")
    rows += ["", f"{result['texts']:,} texts ({result['passages']:,} passages, "
                 f"{result['sentences']:,} sentences, {result['tokens']:,} tokens), one text per "
                 f"run on one core; seconds: medians of alternating rounds, {result['date']}."]
    return rows

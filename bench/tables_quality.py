"""Tables of docs/quality.md: recall per evidence, the fusion weights' grids, "not found",
the 8-bit path (from components.json, grid.json, calibration.json, speed.json and
int8_cosine.json)."""

from __future__ import annotations

from doc_tables import GOALS, SHORT, components_sets, load_json, row


def components() -> list[str]:
    """Recall of each evidence alone and of the final ranking (bench/components.py)."""
    rows = ["| dataset | keyword R@1 / MRR@10 | + translated keywords | dense R@1 / MRR@10 | "
            "final R@1 / MRR@10 | final R@5 | goal R@1 |", "|---|---|---|---|---|---|---|"]
    for name, result in components_sets().items():
        pair = [f"{result[k]['recall@1']:.3f} / {result[k]['mrr@10']:.3f}"
                for k in ("keyword", "keyword+translated", "dense", "final")]
        goal = f"≥ {GOALS[name]:.3f}" if name in GOALS else ""
        rows.append(f"| {name} | {' | '.join(pair)} | {result['final']['recall@5']:.3f} | {goal} |")
    return rows


def _grid(name: str) -> tuple[dict, list[dict]]:
    grid = load_json("grid")
    return grid, grid["grids"][name]["rows"]


def _best(rows: list[dict]) -> dict:
    return max(rows, key=lambda r: (r["mean_recall@1"], r["mean_mrr@10"]))


def _cell(row: dict, best: dict) -> str:
    text = f"{row['mean_recall@1']:.4f}"
    if row["chosen"]:
        text = f"**{text}**"
    return text + (" ↑" if row is best else "")


def _matrix(name: str) -> list[str]:
    grid, rows = _grid(name)
    down, across = grid["grids"][name]["parameters"]
    best = _best(rows)
    columns = list(dict.fromkeys(r["values"][across] for r in rows))
    lines = [f"| {down} \\ {across} | " + " | ".join(f"{c:g}" for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for value in dict.fromkeys(r["values"][down] for r in rows):
        cells = [_cell(next(r for r in rows if r["values"] == {down: value, across: c}), best)
                 for c in columns]
        lines.append(f"| {value:g} | " + " | ".join(cells) + " |")
    return lines


def grid_keyword() -> list[str]:
    """Mean dev recall@1 over keyword_weight x keyword_floor (bench/grid.py)."""
    return _matrix("keyword")


def grid_passage() -> list[str]:
    """Mean dev recall@1 over passage_weight x cross_passage_weight (bench/grid.py)."""
    return _matrix("passage")


def _line(name: str) -> list[str]:
    grid, rows = _grid(name)
    (parameter,) = grid["grids"][name]["parameters"]
    best = _best(rows)
    sets = grid["datasets"]
    lines = [f"| {parameter} | " + " | ".join(SHORT.get(s, s) for s in sets) + " | mean |",
             "|---|" + "---|" * (len(sets) + 1)]
    for row in rows:
        value = f"{row['values'][parameter]:g}" + (" (shipped)" if row["chosen"] else "")
        lines.append(f"| {value} | " + " | ".join(f"{row['sets'][s]['recall@1']:.3f}"
                                                    for s in sets)
                     + f" | {_cell(row, best)} |")
    return lines


def grid_translation() -> list[str]:
    """Dev recall@1 per set over translation_weight (bench/grid.py)."""
    return _line("translation")


def grid_spread() -> list[str]:
    """Dev recall@1 per set over min_spread (bench/grid.py)."""
    return _line("spread")


def grid_summary() -> list[str]:
    """Per grid: the shipped point and the best one, mean dev recall@1 / MRR@10."""
    grid = load_json("grid")
    lines = ["| grid | shipped | mean R@1 / MRR@10 | best in the grid | mean R@1 / MRR@10 | "
             "difference in R@1 |", "|---|---|---|---|---|---|"]
    for name, entry in grid["grids"].items():
        rows = entry["rows"]
        chosen = next(r for r in rows if r["chosen"])
        best = _best(rows)

        def point(row: dict) -> str:
            return ", ".join(f"{k} {v:g}" for k, v in row["values"].items())

        lines.append(row(name, point(chosen), f"{chosen['mean_recall@1']:.4f} / "
                         f"{chosen['mean_mrr@10']:.4f}", point(best),
                         f"{best['mean_recall@1']:.4f} / {best['mean_mrr@10']:.4f}",
                         f"{best['mean_recall@1'] - chosen['mean_recall@1']:+.4f}"))
    return lines


def calibration() -> list[str]:
    """The tiers on the fitting rows and on held-out questions (bench/calibrate.py)."""
    data = load_json("calibration")
    cross = data["cross_validated"]
    lines = ["| questions | answerable | unanswerable | answerable: answered | "
             "right passage in the top 3 but hidden | unanswerable: refused (no answer) | "
             "unanswerable: nothing shown |", "|---|---|---|---|---|---|---|"]

    def line(label: str, r: dict) -> str:
        return row(label, f"{r['answerable']:,}", f"{r['unanswerable']:,}",
                   f"{r['answerable_answered']:.1%}", f"{r['right_hidden']:.1%}",
                   f"{r['unanswerable_refused']:.1%}", f"{r['unanswerable_nothing_shown']:.1%}")

    lines.append(line("the rows it was fitted on (in-sample)", data["fit"]))
    lines.append(line("held out: 5 folds by question", cross["by_question"]))
    lines.append(line("held out: leave one corpus out (all four)", cross["by_corpus"]))
    for corpus, r in cross["by_corpus"]["folds"].items():
        lines.append(line(f"… held-out corpus {corpus}", r))
    return lines


def calibration_seed() -> list[str]:
    """The shipped model on the seed's own questions (bench/calibrate.py)."""
    seed = load_json("calibration")["seed"]
    lines = ["| seed questions (never fitted on) | questions | result |", "|---|---|---|",
             row("on-topic: expected passage shown in the top 3 (any tier)", seed["on_topic"],
                 seed["on_topic_shown"]),
             row("on-topic: … and in the answer tier", seed["on_topic"], seed["on_topic_answered"])]
    for kind, label in (("off_topic", "general knowledge (cooking, weather, trivia)"),
                        ("near_topic", "near-topic, not answered by the seed"),
                        ("other_documents", "about other documents")):
        r = seed[kind]
        lines.append(row(f"off-topic, {label}: refused / nothing shown", r["questions"],
                         f"{r['refused']} / {r['nothing_shown']}"))
    return lines


def tiers() -> list[str]:
    """Right answers hidden and questions answered on every dev set (bench/tiers.py)."""
    data = load_json("tiers")
    lines = ["| dataset | questions | right passage in the top 3 | … hidden (under both "
             "thresholds) | answered (a passage in the answer tier) | first shown is right and "
             "answers |", "|---|---|---|---|---|---|"]
    for name, r in data["sets"].items():
        lines.append(row(name, f"{r['questions']:,}", f"{r['right_in_top3']:.1%}",
                         f"{r['hidden']:.1%}", f"{r['answered']:.1%}",
                         f"{r['right_first_answered']:.1%}"))
    return lines


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

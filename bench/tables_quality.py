"""Tables of docs/quality.md: recall per evidence, the fusion weights' grids, the answering
span, translation and real questions (the tiers': :mod:`tables_tiers`; the 8-bit path's:
:mod:`tables_int8`)."""

from __future__ import annotations

from doc_tables import GOALS, SHORT, components_sets, header, load_json, row


def components() -> list[str]:
    """Recall of each evidence alone and of the final ranking (bench/components.py)."""
    rows = ["| dataset | keyword R@1 / MRR@10 | + translated keywords | dense R@1 / MRR@10 | "
            "fused, before the focus step | final R@1 / MRR@10 | final R@5 | goal R@1 (issue 14) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, result in components_sets().items():
        pair = [f"{result[k]['recall@1']:.3f} / {result[k]['mrr@10']:.3f}"
                for k in ("keyword", "keyword+translated", "dense", "unfocused", "final")]
        goal = f"≥ {GOALS[name]:.3f}" if name in GOALS else ""
        rows.append(f"| {name} | {' | '.join(pair)} | {result['final']['recall@5']:.3f} | {goal} |")
        if "bm25" in result:  # the reference: plain character-bigram BM25
            bm25 = result["bm25"]
            rows.append(row(f"{name}, plain bigram BM25", f"{bm25['recall@1']:.3f} / "
                            f"{bm25['mrr@10']:.3f}", "", "", "", "", f"{bm25['recall@5']:.3f}", ""))
    return rows


def focus_grid() -> list[str]:
    """Dev recall@1 over the focus step's two weights: each set's gain in questions against
    no focus step, and the mean recall@1 (bench/focus.py)."""
    data = load_json("focus")
    sets, shipped = data["sets"], data["shipped"]
    names = list(sets)
    lines = header("sentence weight", "passage weight", *[SHORT.get(n, n) for n in names],
                   "mean R@1")
    def without(grid: list[dict]) -> float:  # weights 0 and 0: no focus step
        return next(p["recall@1"] for p in grid
                    if p["sentence_weight"] == p["passage_weight"] == 0)

    for i, point in enumerate(sets[names[0]]["grid"]):
        cells = []
        for name in names:
            grid, n = sets[name]["grid"], sets[name]["queries"]
            gained = round((grid[i]["recall@1"] - without(grid)) * n)
            cells.append(f"{gained:+d}")
        mean = sum(sets[n]["grid"][i]["recall@1"] for n in names) / len(names)
        chosen = (point["sentence_weight"], point["passage_weight"]) == \
            (shipped["sentence_weight"], shipped["passage_weight"])
        mean_cell = f"**{mean:.4f}**" if chosen else f"{mean:.4f}"
        lines.append(row(f"{point['sentence_weight']:g}", f"{point['passage_weight']:g}", *cells,
                         mean_cell))
    return lines


def focus_misses() -> list[str]:
    """The final ranking's wrong first passages that hold a gold answer (bench/focus.py)."""
    lines = header("dev set", "questions", "first passage wrong", "... holding a gold answer")
    for name, m in load_json("focus")["misses"].items():
        lines.append(row(name, f"{m['questions']:,}", m["wrong_first"],
                         m["first_holds_an_answer"]))
    return lines


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


def answers() -> list[str]:
    """How often the highlighted span holds a gold answer, cross-validated (bench/answers.py)."""
    data = load_json("answers")
    alone = next(k for k in data["datasets"]["cmrc2018"]["rules"] if "features alone" in k)
    lines = header("dataset", "questions with answers",
                   "first passage right: span holds the answer, best sentence → widened "
                   "(issue 14) → learned on the features → and their products",
                   "over all questions, learned", "span / passage characters, features → "
                   "and their products")
    for name, r in data["datasets"].items():
        before, widened, features, after = (r["rules"][k] for k in
                                            ("before", "widened (issue 14)", alone, "after"))
        lines.append(row(name, f"{after['answer_questions']:,}",
                         f"{before['answer@1|right']:.3f} → {widened['answer@1|right']:.3f} → "
                         f"{features['answer@1|right']:.3f} → "
                         f"**{after['answer@1|right']:.3f}**", f"{after['answer@1']:.3f}",
                         f"{features['span_chars']:.0f} → {after['span_chars']:.0f} / "
                         f"{after['passage_chars']:.0f}"))
    return lines


def answer_rules() -> list[str]:
    """Every span rule tried, per dev set (bench/answers.py)."""
    data = load_json("answers")["datasets"]
    sets = list(data)
    lines = ["| rule | " + " | ".join(SHORT.get(s, s) for s in sets) + " |",
             "|---|" + "---|" * len(sets)]
    for rule in data[sets[0]]["rules"]:
        lines.append(row(rule, *(f"{data[s]['rules'][rule]['answer@1|right']:.3f} / "
                                 f"{data[s]['rules'][rule]['span_chars']:.0f}" for s in sets)))
    return lines


def translation() -> list[str]:
    """Translated keywords by word vs by phrase and corpus (bench/translation.py)."""
    return _translation("translation", "by word", "by phrase and corpus")


def gloss_heads() -> list[str]:
    """Without vs with compound glosses as fallback translations (bench/gloss_heads.py)."""
    return _translation("gloss_heads", "without", "with")


def _translation(name: str, before: str, after: str) -> list[str]:
    data = load_json(name)
    lines = [f"| dataset | final R@1 / MRR@10: {before} → {after} | keyword + "
             f"translated alone: {before} → {after} |", "|---|---|---|"]
    for dataset, r in data["datasets"].items():
        if r.get("identical"):
            continue

        def pair(kind: str) -> str:
            a, b = r[kind]["before"], r[kind]["after"]
            return (f"{a['recall@1']:.3f} / {a['mrr@10']:.3f} → {b['recall@1']:.3f} / "
                    f"{b['mrr@10']:.3f}")

        lines.append(row(dataset, pair("final"), pair("keyword+translated")))
    seed = data["seed_en"]
    for side, label in (("before", before), ("after", after)):
        first = sum(q[side] == 1 for q in seed)
        mrr = sum(1 / q[side] for q in seed if q[side]) / len(seed)
        lines.append(row(f"seed, {len(seed)} English questions ({label})",
                         f"right passage first for {first}; MRR {mrr:.3f}", ""))
    return lines


def realq() -> list[str]:
    """Why the keyword side lost on real posts, and what the long-question step does
    (bench/realq.py, meddialog_zh dev)."""
    data = load_json("realq")["results"]
    lines = ["| ranking on meddialog_zh dev | R@1 | MRR@10 |", "|---|---|---|",
             row("plain character-bigram BM25 (rank_bm25's formula, k1 1.5, b 0.75)",
                 f"{data['reference']['recall@1']:.3f}", f"{data['reference']['mrr@10']:.3f}")]
    for label, (r1, mrr) in data["keyword_alone"].items():
        if not label.startswith("k1="):
            lines.append(row(f"keyword side alone: {label}", f"{r1:.3f}", f"{mrr:.3f}"))
    for label, (r1, mrr) in data["fusion"].items():
        lines.append(row(f"fused: {label}", f"{r1:.3f}", f"{mrr:.3f}"))
    floor = data["floor"]
    lines += ["", f"The answer's keyword share (BM25 / reachable bound), quartiles "
                  f"{' / '.join(f'{q:.3f}' for q in floor['answer_share_quartiles'])}: under "
                  f"the 0.03 floor for {floor['answer_under_floor']:.0%} of the questions "
                  f"(keyword tokens per question, quartiles "
                  f"{' / '.join(f'{q:.0f}' for q in floor['keyword_tokens_quartiles'])})."]
    return lines


def second_encoder() -> list[str]:
    """The final ranking's top 30 reranked with USE multilingual v3 (bench/second_encoder.py)."""
    data = load_json("second_encoder")["datasets"]
    weights = ("0.0", "0.2", "0.5", "1.0")
    lines = header("dataset", *(f"R@1 / MRR@10, λ {w}" for w in weights), "USE seconds")
    for name, r in data.items():
        lines.append(row(name, *(f"{r[f'all, lambda {w}']['recall@1']:.3f} / "
                                 f"{r[f'all, lambda {w}']['mrr@10']:.3f}" for w in weights),
                         f"{r['use_seconds']:.0f} s for {r['use_texts']:,} texts"))
    return lines


def levers() -> list[str]:
    """Levers tried on the shipped ranking: each set's change in right first passages and in
    MRR@10, and the questions each touched (bench/levers.py)."""
    sets = load_json("levers")["sets"]
    lines = header("lever", *[SHORT.get(n, n) for n in sets])
    shipped = {n: s["variants"]["shipped"] for n, s in sets.items()}
    lines.append(row("shipped: R@1 / MRR@10", *(f"{v['recall@1']:.3f} / {v['mrr@10']:.3f}"
                                                for v in shipped.values())))
    for name in list(next(iter(sets.values()))["variants"])[1:]:
        cells = []
        for n, s in sets.items():
            v, base = s["variants"][name], shipped[n]
            cells.append(f"{v['right_first'] - base['right_first']:+d} / "
                         f"{v['mrr@10'] - base['mrr@10']:+.4f} ({v['touched']:,})")
        lines.append(row(name, *cells))
    return lines


def finetune() -> list[str]:
    """The passage side fine-tuned, on questions it was not trained on: before -> after
    (bench/finetune.py)."""
    sets = load_json("finetune")["sets"]
    lines = header("dataset (questions not trained on)", "passage cosine alone R@1",
                   "dense side R@1", "final R@1", "final MRR@10")
    for name, s in sets.items():
        n = s["questions"]
        cosine = s.get("passage_cosine")

        def change(kind: str, key: str = "recall@1") -> str:
            b, a = s[kind]
            return f"{b[key]:.3f} → {a[key]:.3f}"

        lines.append(row(f"{name} ({n:,})",
                         f"{cosine[0] / n:.3f} → {cosine[1] / n:.3f}" if cosine else "",
                         change("dense"), change("final") +
                         f" ({s['final'][1]['right_first'] - s['final'][0]['right_first']:+d})",
                         change("final", "mrr@10")))
    return lines


def translated_query() -> list[str]:
    """Question vectors with and without the translated words (bench/translated_query.py)."""
    data = load_json("translated_query")
    ways = data["ways"]
    lines = header("dataset (questions with translated words)", *ways)
    for name, r in data["datasets"].items():
        lines.append(row(f"{name} ({r['with_translated_words']} of {r['questions']})",
                         *(f"{r[w]['recall@1']:.4f} / {r[w]['mrr@10']:.4f}" for w in ways)))
    seed = data["seed_en"]
    lines.append(row(f"seed, {seed['questions']} English questions: first / MRR",
                     *(f"{seed[w]['first']} / {seed[w]['mrr@10']:.3f}" for w in ways)))
    return lines

"""Tables of docs/speed.md: embedding, indexing, first run, latency, large corpora, the chat's
start (from speed.json, latency.json, scale.json and app_timing.json)."""

from __future__ import annotations

from doc_tables import RESULTS, load_json, measured, ms, row


def speed() -> list[str]:
    """Embedding, indexing, first run and start (bench/speed.py)."""
    data = load_json("speed")
    e, i, f, s = data["embedding"], data["index"], data["first_run"], data["start"]
    rows = ["| figure | value | measured |", "|---|---|---|",
            f"| passages/s, sentence-transformers fp32, batch 32 (baseline) | "
            f"{e['baseline_per_s']:.2f} ({e['baseline_share_of_peak']:.0%} of the fp32 peak, "
            f"{e['peak_gflops']:.0f} GFLOP/s) | {measured(e['measured'])} |",
            f"| passages/s, 8-bit ONNX (the default) | {e['int8_per_s']:.2f} = "
            f"**{e['ratio']:.2f}x** (rounds: "
            f"{', '.join(f'{x:.2f}x' for x in e['ratios_per_round'])}); cosine to the baseline "
            f"mean {e['mean_cos']:.4f}, min {e['min_cos']:.4f} | {measured(e['measured'])} |",
            f"| indexing {i['source_paragraphs']:,} drcd paragraphs in one text file "
            f"({i['characters']:,} characters: {i['passages']:,} passages, {i['sentences']:,} "
            f"sentences), model loaded | {i['seconds']:.1f} s = {i['passages_per_s']:.1f} "
            f"passages/s, {i['characters'] / i['seconds']:,.0f} characters/s | "
            f"{measured(i['measured'])} |",
            f"| first run: conversion / 8-bit export / whole first `qa ask` | "
            f"{f['conversion_s']:.1f} s / {f['export_s']:.1f} s / {f['first_qa_ask_wall_s']:.1f} s"
            f" | {measured(f['measured'])} |",
            f"| `qa ask` on a built index, wall (median of 3) | {s['qa_ask_wall_s']:.2f} s | "
            f"{measured(s['measured'])} |",
            f"| chat page served after start, built index | {s['page_served_s']:.1f} s | "
            f"{measured(s['measured'])} |"]
    return rows


def latency() -> list[str]:
    """retrieve() end to end, one question at a time (bench/latency.py)."""
    data = load_json("latency")
    rows = ["| index | passages | questions | p50 | p95 |", "|---|---|---|---|---|"]
    for name, r in data.items():
        if name != "measured":
            rows.append(f"| {name} | {r['passages']:,} | {r['questions']} | {ms(r['p50_ms'])} | "
                        f"{ms(r['p95_ms'])} |")
    rows += ["", f"Measured {measured(data['measured'])}."]
    return rows


def ab_latency() -> list[str]:
    """Commits against the ones before them, side by side in one run each
    (bench/ab_latency.py; every ``ab_latency*.json``)."""
    lines = ["| A → B | seed p50 / p95, A → B | drcd p50 / p95, A → B | p50 ratio seed / drcd |",
             "|---|---|---|---|"]
    for path in sorted(RESULTS.glob("ab_latency*.json")):
        data = load_json(path.stem)

        def pair(name: str) -> str:
            a, b = data[f"{name}_A"], data[f"{name}_B"]
            return (f"{ms(a['p50_ms'])} / {ms(a['p95_ms'])} → "
                    f"{ms(b['p50_ms'])} / {ms(b['p95_ms'])}")

        lines.append(row(f"{data['A']} → {data['B']}", pair("seed"), pair("drcd"),
                         f"{data['seed_p50_ratio_B_over_A']:.3f} / "
                         f"{data['drcd_p50_ratio_B_over_A']:.3f}"))
    return lines


def scale() -> list[str]:
    """Large synthetic corpora grown from drcd (bench/scale.py)."""
    rows = ["| passages | vectors | `retrieve()` p50 / p95 | dense recall@10 vs exact | "
            "drcd R@1 / R@10 | private memory per passage | on disk per passage | "
            "build: dense / keyword / write | load | measured |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in load_json("scale")["rows"]:
        vectors = "fp16" if r["compact"] else "fp32"
        rows.append(row(
            f"{r['passages']:,}", vectors, f"{ms(r['p50_ms'])} / {ms(r['p95_ms'])}",
            f"{r['dense_recall@10_vs_exact']:.3f}", f"{r['recall@1']:.3f} / {r['recall@10']:.3f}",
            f"{r['private_bytes_per_passage'] / 1024:.2f} KB (+{r['mapped_file_mb']:,} MB mapped "
            "file pages)", f"{r['disk_bytes_per_passage'] / 1024:.1f} KB",
            f"{r['dense_build_s']:.0f} / {r['keyword_build_s']:.0f} / {r['write_s']:.0f} s",
            f"{r['load_s']:.1f} s", measured(r["measured"])))
    return rows


def app_timing() -> list[str]:
    """The chat through its API (bench/app_timing.py)."""
    data = load_json("app_timing")
    cold, warm, api = data["cold_index_build"], data["built_index"], data["api_reply_ms"]
    return ["| figure | value |", "|---|---|",
            f"| page served after start: no index yet / built index | "
            f"{cold['page_served_s']:.1f} s / {warm['page_served_s']:.1f} s |",
            f"| first answer after start: no index yet / built index | "
            f"{cold['first_answer_s']:.1f} s / {warm['first_answer_s']:.1f} s |",
            f"| `/chat` API reply, p50 / p95 over {api['n']} questions | {api['p50']:,} ms / "
            f"{api['p95']:,} ms |",
            "", f"Measured {measured(data['measured'])}."]


def sync_speed() -> list[str]:
    """`qa sync` on a folder of 1,000 files (bench/sync_speed.py)."""
    data = load_json("sync_speed")
    counts = data["counts"]
    lines = ["| step | seconds (median) |", "|---|---|",
             f"| first build: {data['files']:,} files, {counts['passages']:,} passages, "
             f"{counts['sentences']:,} sentences | {data['first_build_s']:.0f} |"]
    for step, seconds in data["median_s"].items():
        lines.append(f"| {step} | {seconds:.2f} |")
    return lines + ["", f"Measured {measured(data['measured'])}, {data['rounds']} rounds."]


def build_speed() -> list[str]:
    """A whole ``qa build`` against sentence-transformers on its passages (bench/build_speed.py)."""
    d = load_json("build_speed")["issue"]
    rows = ["| what | passages/s | seconds (rounds) |", "|---|---|---|",
            f"| `qa build` of {d['answers']} meddialog_zh answers in one .txt ({d['passages']} "
            f"passages, {d['sentences']:,} sentences), process start included | "
            f"{d['build_passages_per_s']:.1f} | {', '.join(map(str, d['build_seconds']))} |",
            f"| sentence-transformers fp32, batch 32, the same passages, model loaded | "
            f"{d['baseline_passages_per_s']:.1f} | {', '.join(map(str, d['baseline_seconds']))} |",
            f"| ratio (medians) | **{d['ratio']:.2f}** | |"]
    stages = d["profile"]["stages"]
    rows += ["", f"Where the build's {d['profile']['seconds']:.1f} s go (profiled in-process): "
             + ", ".join(f"{name} {s:.2f} s" for name, s in stages.items())
             + f". Measured {measured(d['measured'])}."]
    return rows


def _build_cells(r: dict, peak_mb: int | None = None) -> str:
    """A build's cells; ``peak_mb``: its peak memory when measured on its own."""
    return (f"{r['seconds']:,.0f} s | {r['passages_per_s']:.1f} | {r['tokens_per_s']:,} | "
            f"{r['cpu_use']:.0%} | {r['share_of_fp32_peak']:.0%} | "
            f"{peak_mb if peak_mb is not None else r['peak_mb']:,} MB")


def build_before_after() -> list[str]:
    """Before issue 17's changes and now, and the 100k build (bench/build_speed.py)."""
    data = load_json("build_speed")
    d = data["before_after"]
    rows = ["| corpus | code | wall | passages/s | tokens/s | CPU use | fp32 peak | peak memory |",
            "|---|---|---|---|---|---|---|---|"]
    for name, r in d["corpora"].items():
        w = r["work"]
        label = (f"{name}: {w['passages']:,} passages, {w['sentences']:,} sentences, "
                 f"{w['tokens']:,} tokens")
        memory = d.get("memory", {}).get(name, {})
        rows.append(f"| {label} | before ({d['before']}) | "
                    f"{_build_cells(r['before'], memory.get('before'))} |")
        rows.append(f"| | now ({r['speedup']:.2f}x) | "
                    f"{_build_cells(r['after'], memory.get('after'))} |")
    full = data.get("full")
    if full:
        w = full["work"]
        rows.append(f"| mixed, all {w['passages']:,} passages, {w['sentences']:,} sentences, "
                    f"{w['tokens']:,} tokens | now | {_build_cells(full)} |")
    rows += ["", f"CPU use: the build's CPU seconds / wall seconds / cores; fp32 peak: the "
             f"model's fp32-equivalent FLOPs per second over a 4096² numpy matmul's "
             f"({d['corpora'][next(iter(d['corpora']))]['peak_gflops']:.0f} GFLOP/s). "
             f"Measured {measured(d['measured'])}"
             + (f"; peak memory by one build each, {measured(d['memory']['measured'])}"
                if d.get("memory") else "")
             + (f"; the 100k build {measured(full['measured'])}." if full else ".")]
    p = (full or d).get("projection_1m")
    if p:
        rows += ["", f"Projected for 1M passages on these two cores: **{p['hours']:.1f} hours** "
                 f"({p['basis']})."]
    return rows


def late_chunking() -> list[str]:
    """Sentence vectors from the passage's token states vs embedded apart
    (bench/late_chunking.py)."""
    d = load_json("late_chunking")
    rows = ["| dev set | R@1 apart → late | MRR@10 apart → late | span holds the answer |",
            "|---|---|---|---|"]
    for name, r in d["sets"].items():
        a, b = r["separate"], r["late"]
        answer = (f"{a['answer@1|right']:.3f} → {b['answer@1|right']:.3f}"
                  if "answer@1|right" in a else "—")
        rows.append(f"| {name} | {a['recall@1']:.3f} → {b['recall@1']:.3f} | "
                    f"{a['mrr@10']:.3f} → {b['mrr@10']:.3f} | {answer} |")
    s = d["speed"]
    rows += ["", f"Embedding {s['passages']} drcd passages and their {s['sentences']:,} "
             f"sentences: {s['passages_per_s']['separate']:.1f} passages/s apart, "
             f"{s['passages_per_s']['late']:.1f} late ({s['speedup']:.2f}x). Measured "
             f"{measured(d['measured'])}."]
    return rows


def keyword_build() -> list[str]:
    """bm25s's build against the vectorised one, same scores (bench/keyword_build.py)."""
    d = load_json("keyword_build")
    rows = ["| passages | tokens | tokenise + ids | bm25s's build | vectorised | identical |",
            "|---|---|---|---|---|---|"]
    for r in d["sizes"]:
        rows.append(f"| {r['passages']:,} | {r['tokens'] / 1e6:.1f} M | {r['tokenize_s']:.1f} + "
                    f"{r['token_ids_s']:.1f} s | {r['bm25s_s']:.1f} s, {r['bm25s_peak_mb']:,} MB | "
                    f"{r['vectorised_s']:.1f} s ({r['speedup']:.1f}x), "
                    f"{r['vectorised_peak_mb']:,} MB | {'yes' if r['identical'] else 'NO'} |")
    rows += ["", f"Measured {measured(d['measured'])}."]
    return rows


def ray_build() -> list[str]:
    """The local build against Ray with one and two workers, and a cluster projected from
    them (bench/ray_build.py)."""
    d = load_json("ray_build")
    rows = ["| build | wall seconds (rounds) | passages/s | embedding stage, passages/s | "
            "same index as local |", "|---|---|---|---|---|"]
    for way, seconds in d["rounds"].items():
        same = d["same_as_local"].get(way)
        label = "—" if same is None else (
            f"{'yes' if same['records'] and same['keyword'] else 'no'}, vectors' least cosine "
            f"{same['min_cosine']:.5f}" if same.get("records") else "no")
        rows.append(f"| {way} | {', '.join(f'{s:.1f}' for s in seconds)} | "
                    f"{d['passages_per_s'][way]:.1f} | {d['embed_passages_per_s'][way]:.1f} | "
                    f"{label} |")
    p = d["projection"]
    rows += ["", f"{d['passages']:,} passages ({d['answers']:,} meddialog_zh answers in "
             f"{d['files']} files). Measured {measured(d['measured'])}.", "",
             f"Projected from one worker's {p['per_worker_passages_per_s']:.1f} passages/s "
             f"embedding, the two-worker efficiency {p['two_worker_efficiency']:.0%} and the "
             f"driver's {p['driver_seconds_per_passage'] * 1e3:.1f} ms of serial work a passage:",
             "", "| passages | worker cores | hours (embedding + driver) | passage vectors on "
             "the driver |", "|---|---|---|---|"]
    for r in p["clusters"]:
        rows.append(f"| {r['passages']:,} | {r['worker_cores']:,} | {r['hours']:,.1f} "
                    f"({r['embedding_hours']:,.1f} + {r['driver_hours']:,.1f}) | "
                    f"{r['driver_passage_vectors_gb']:,} GB |")
    return rows


def milvus_parity() -> list[str]:
    """The FAISS folder against the same index served from Milvus Lite, per dev set
    (bench/milvus_parity.py)."""
    d = load_json("milvus_parity")
    rows = ["| dev set | passages | recall@1 FAISS / Milvus | MRR@10 FAISS / Milvus | "
            "answer accuracy FAISS / Milvus | same first passage | retrieve() p50 ms FAISS / "
            "Milvus | p95 ms | publish s |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in d["sets"].items():
        f, m = r["faiss"], r["milvus"]
        accuracy = (f"{f['answer@1|right']:.4f} / {m['answer@1|right']:.4f}"
                    if f.get("answer@1|right") is not None else "—")
        lf, lm = r["latency_ms"]["faiss"], r["latency_ms"]["milvus"]
        rows.append(f"| {name} | {r['passages']:,} | {f['recall@1']:.4f} / {m['recall@1']:.4f} | "
                    f"{f['mrr@10']:.4f} / {m['mrr@10']:.4f} | {accuracy} | "
                    f"{r['same_first_passage']:.2%} | {ms(lf['p50'])} / {ms(lm['p50'])} | "
                    f"{ms(lf['p95'])} / {ms(lm['p95'])} | {r['publish_seconds']:.0f} |")
    rows += ["", f"Milvus Lite {d.get('milvus_lite', '')} in the process, pymilvus "
             f"{d.get('pymilvus', '')}; latency over {next(iter(d['sets'].values()))['latency_ms']['faiss']['n']} "
             f"questions a set, the backends alternating. Measured {measured(d['measured'])}."]
    return rows

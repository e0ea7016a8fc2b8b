"""Dev recall@1 / MRR@10 of keyword alone, dense alone and the final ranking, per dataset.

meddialog_zh (real patients' posts) also gets ``bm25``: plain BM25 over character bigrams, the
bench README's reference (:class:`realq.PlainBM25`, k1=1.5, b=0.75), outside the shipped code.

Keyword alone is shown twice: the question's own keywords, and with its dictionary-translated
keywords added (both keyword evidence). ``unfocused`` is the final ranking without its last
step (:mod:`qa.focus`), which the evidence alone skips too. All go through the same code
(``Retriever.rank``), changing only the recipe.
Writes ``bench/results/components.json`` (``--out``; ``bench/render.py`` renders it into the
README and ``docs/quality.md``) and prints a Markdown table (``--json``: the JSON instead).
Run: ``.venv/bin/python bench/components.py [--bench ../shared/bench] [--json] [--out F]``
(about 4 minutes on two cores once the ``qa eval`` indexes exist; 12 more to build them).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dev_set  # noqa: E402
from about import machine  # noqa: E402
from doc_tables import GOALS  # noqa: E402
from realq import KS, PlainBM25, bigrams, measure  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, evaluate, judged, read_jsonl, read_qrels  # noqa: E402
from qa.fusion import Recipe  # noqa: E402

DATASETS = dev_set.DEV_SETS
REFERENCE = {"meddialog_zh"}  # sets that also get the plain-BM25 row
UNFOCUSED = replace(Recipe(), focus_depth=0)  # without the last step, qa/focus.py
VARIANTS = {"keyword": replace(UNFOCUSED, dense_weight=0.0, translation_weight=0.0),
            "keyword+translated": replace(UNFOCUSED, dense_weight=0.0),
            "dense": replace(UNFOCUSED, keyword_weight=0.0, long_keyword_weight=0.0,
                             translation_weight=0.0),
            "unfocused": UNFOCUSED,
            "final": Recipe()}


def plain_bm25(folder: Path, queries: list[dict], qrels: dict) -> dict:
    """The reference row: plain character-bigram BM25 over the corpus as it is."""
    corpus = read_jsonl(folder / "corpus.jsonl")
    row_of = {str(p["id"]): row for row, p in enumerate(corpus)}
    relevant = [{row_of[pid] for pid in qrels[str(q["id"])] if pid in row_of} for q in queries]
    index = PlainBM25([bigrams(p["text"]) for p in corpus])
    result = measure(np.stack([index.scores(bigrams(q["text"])) for q in queries]), relevant)
    return {"queries": len(queries), **{f"recall@{k}": result[f"recall@{k}"] for k in KS},
            "mrr@10": result["mrr@10"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "components.json")
    args = parser.parse_args()
    rows = {}
    for name in DATASETS:
        folder = Path(args.bench) / name
        retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
        qrels = read_qrels(folder / "qrels.dev.tsv")
        queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
        vectors = retriever.question_vectors(
            [retriever.prepare(q["text"]) for q in queries], batch_size=64)
        rows[name] = {}
        for variant, recipe in VARIANTS.items():
            retriever.recipe = recipe
            rows[name][variant] = evaluate(retriever, queries, qrels, vectors)
        if name in REFERENCE:
            rows[name]["bm25"] = plain_bm25(folder, queries, qrels)
        print(name, json.dumps({v: (r["recall@1"], r["mrr@10"]) for v, r in rows[name].items()}),
              file=sys.stderr, flush=True)
    out = {"date": datetime.date.today().isoformat(), "measured": machine(), "titles": False,
           "datasets": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(out))
        return
    print("| dataset | keyword R@1 / MRR@10 | + translated keywords | dense R@1 / MRR@10 "
          "| unfocused | final R@1 / MRR@10 | final R@5 | goal R@1 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result in rows.items():
        cells = [f"{result[v]['recall@1']:.3f} / {result[v]['mrr@10']:.3f}" for v in VARIANTS]
        print(f"| {name} | " + " | ".join(cells) +
              f" | {result['final']['recall@5']:.3f} | ≥ {GOALS[name]:.3f} |")
        if "bm25" in result:
            print(f"| {name}, plain bigram BM25 | {result['bm25']['recall@1']:.3f} / "
                  f"{result['bm25']['mrr@10']:.3f} | | | | | {result['bm25']['recall@5']:.3f} | |")


if __name__ == "__main__":
    main()

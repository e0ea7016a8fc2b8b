"""Dev recall@1 / MRR@10 of keyword alone, dense alone and the final ranking, per dataset.

Keyword alone is shown twice: the question's own keywords, and with its dictionary-translated
keywords added (both keyword evidence). All go through the same code (``Retriever.rank``),
changing only the fusion weights.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, evaluate, judged, read_jsonl, read_qrels  # noqa: E402
from qa.fusion import Recipe  # noqa: E402

DATASETS = ["cmrc2018", "drcd", "xquad_zh", "xquad_en2zh", "xquad_zh2mixed",
            "xquad_zh2halfen", "xquad_en"]
GOALS = {"cmrc2018": .970, "drcd": .930, "xquad_zh": .950, "xquad_en2zh": .800,
         "xquad_zh2mixed": .950, "xquad_zh2halfen": .750, "xquad_en": .960}
VARIANTS = {"keyword": replace(Recipe(), dense_weight=0.0, translation_weight=0.0),
            "keyword+translated": replace(Recipe(), dense_weight=0.0),
            "dense": replace(Recipe(), keyword_weight=0.0, translation_weight=0.0),
            "final": Recipe()}


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
        vectors = retriever.query_encoder.encode_queries(
            [retriever.prepare(q["text"]).embed for q in queries], batch_size=64)
        rows[name] = {}
        for variant, recipe in VARIANTS.items():
            retriever.recipe = recipe
            rows[name][variant] = evaluate(retriever, queries, qrels, vectors)
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
          "| final R@1 / MRR@10 | final R@5 | goal R@1 |")
    print("|---|---|---|---|---|---|---|")
    for name, result in rows.items():
        cells = [f"{result[v]['recall@1']:.3f} / {result[v]['mrr@10']:.3f}" for v in VARIANTS]
        print(f"| {name} | " + " | ".join(cells) +
              f" | {result['final']['recall@5']:.3f} | ≥ {GOALS[name]:.3f} |")


if __name__ == "__main__":
    main()

"""A small frozen sample of the dev sets, for recall floors that `make test` checks.

For each set in :data:`SETS`: ``--questions`` questions drawn at random (seeded), their gold
passages and ``--distractors`` other passages of the same corpus, written in the benchmark's
own format to ``tests/data/dev_sample/<set>/`` (corpus.jsonl, queries.jsonl, qrels.tsv); then
the shipped ranking is evaluated on it and the figures written to
``bench/results/dev_sample.json``. ``tests/test_dev_sample.py`` holds floors taken from them.

Run: ``.venv/bin/python bench/dev_sample.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SETS = ["cmrc2018", "drcd", "xquad_en2zh", "xquad_zh2halfen"]
OUT = ROOT / "tests" / "data" / "dev_sample"


def sample(bench: Path, name: str, questions: int, distractors: int, seed: int = 0) -> None:
    from qa.evaluate import read_jsonl, read_qrels

    rng = random.Random(f"{seed}-{name}")
    qrels = read_qrels(bench / name / "qrels.dev.tsv")
    queries = [q for q in read_jsonl(bench / name / "queries.dev.jsonl") if str(q["id"]) in qrels]
    chosen = rng.sample(queries, questions)
    gold = {p for q in chosen for p in qrels[str(q["id"])]}
    corpus = read_jsonl(bench / name / "corpus.jsonl")
    others = [row for row in corpus if str(row["id"]) not in gold]
    kept = [row for row in corpus if str(row["id"]) in gold] + rng.sample(others, distractors)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row, ensure_ascii=False) for row in kept]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [json.dumps({"id": q["id"], "text": q["text"]}, ensure_ascii=False) for q in chosen]
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = [f"{q['id']}\t{p}\t1" for q in chosen for p in sorted(qrels[str(q["id"])])]
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(pairs) + "\n")


def measure() -> dict:
    """Recall and MRR of the shipped ranking on each sampled set (a private index root)."""
    from qa.config import Settings
    from qa.evaluate import run_eval

    settings = replace(Settings.from_env(), index_root=Path(tempfile.mkdtemp()))
    return {name: run_eval(OUT / name / "corpus.jsonl", OUT / name / "queries.jsonl",
                           OUT / name / "qrels.tsv", settings, progress=False)
            for name in SETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--distractors", type=int, default=60)
    parser.add_argument("--measure-only", action="store_true", help="keep the sample as it is")
    args = parser.parse_args()
    if not args.measure_only:
        for name in SETS:
            sample(Path(args.bench), name, args.questions, args.distractors)
    result = measure()
    out = ROOT / "bench" / "results" / "dev_sample.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

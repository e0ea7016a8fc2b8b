"""Is a change of dev recall@1 between two commits more than the noise of re-encoding?

Builds each dev set's ``qa eval`` index afresh with the code of ``--before`` (a git worktree
of that commit, the same virtual environment and model cache) and with this checkout, ranks
every judged dev question with each, and compares them question by question: recall@1 and
MRR@10 of each, the questions only one of them answers first (lost: before only, won: this
checkout only) and the exact two-sided McNemar p-value of those discordant pairs, i.e. how
likely a split at least that uneven is when neither code is better. Writes
``bench/results/recall_pairs.json``; sets not rerun keep their earlier rows (each names the
commit it measured) when ``--before`` is the same.

Run: ``.venv/bin/python bench/recall_pairs.py [--before c0607fb] [--sets xquad_en2zh
meddialog_zh]`` (about 15 minutes for those two here: four index builds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from about import checkout, commit, machine  # noqa: E402

OUT = ROOT / "bench" / "results" / "recall_pairs.json"
BEFORE = "c0607fb"  # the last commit before issue 17's changes to vectors
RANKS = """
import json, sys
from pathlib import Path
from qa.config import Settings
from qa.evaluate import corpus_retriever, judged, read_qrels
from qa.sources import read_jsonl
out = {}
for folder in map(Path, sys.argv[1:]):
    qrels = read_qrels(folder / "qrels.dev.tsv")
    queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
    retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
    records = retriever.index.records
    prepared = [retriever.prepare(q["text"]) for q in queries]
    if hasattr(retriever, "question_vectors"):
        vectors = retriever.question_vectors(prepared, batch_size=64)
    else:  # code before Retriever.question_vectors
        vectors = retriever.query_encoder.encode_queries([p.embed for p in prepared], batch_size=64)
    ranks = {}
    for query, question, vector in zip(queries, prepared, vectors):
        ids = [records[r.row].id for r in retriever.rank(question, 10, vector)]
        relevant = qrels[str(query["id"])]
        ranks[str(query["id"])] = next((i + 1 for i, x in enumerate(ids) if x in relevant), 0)
    out[folder.name] = ranks
print(json.dumps(out))
"""


def ranks_by(code: Path, folders: list[Path], index_root: Path) -> dict:
    """``{set: {question id: rank of the first relevant passage (0: not in the top 10)}}``
    from the code in ``code``, building its indexes under ``index_root``."""
    env = dict(os.environ, QA_INDEX_ROOT=str(index_root), HF_HUB_OFFLINE="1",
               PYTHONPATH=str(code))
    done = subprocess.run([sys.executable, "-c", RANKS, *map(str, folders)], cwd=code, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"ranking with {code} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def mcnemar_p(lost: int, won: int) -> float:
    """Exact two-sided McNemar p-value: a binomial test of ``lost`` against ``won`` at 1/2."""
    n = lost + won
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(lost, won) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def compare(before: dict[str, int], after: dict[str, int]) -> dict:
    """Recall@1, MRR@10 and the discordant first places of two rankings of the same questions."""
    ids = sorted(before)

    def figures(ranks):
        return {"recall@1": round(sum(ranks[i] == 1 for i in ids) / len(ids), 4),
                "mrr@10": round(sum(1 / ranks[i] for i in ids if ranks[i]) / len(ids), 4)}

    lost = sum(before[i] == 1 and after[i] != 1 for i in ids)
    won = sum(before[i] != 1 and after[i] == 1 for i in ids)
    return {"questions": len(ids), "before": figures(before), "after": figures(after),
            "lost": lost, "won": won, "mcnemar_p": round(mcnemar_p(lost, won), 4),
            "after_commit": commit()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--sets", nargs="+", default=["xquad_en2zh", "meddialog_zh"])
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    folders = [Path(args.bench) / name for name in args.sets]
    with tempfile.TemporaryDirectory(prefix="recall-pairs-") as work:
        with checkout(args.before, Path(work) / "before") as code:
            before = ranks_by(code, folders, Path(work) / "before-indexes")
        after = ranks_by(ROOT, folders, Path(work) / "after-indexes")
    result = {"before_commit": args.before, "after_commit": commit(),
              "sets": {name: compare(before[name], after[name]) for name in args.sets},
              "measured": machine()}
    earlier = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    if earlier.get("before_commit") == args.before:  # keep the sets not rerun, with their commit
        for name, row in earlier["sets"].items():
            if name not in result["sets"]:
                result["sets"][name] = {**row, "after_commit": row.get("after_commit",
                                                                       earlier["after_commit"])}
    for name, row in result["sets"].items():
        print(name, json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""retrieve() latency of another commit against this working tree, side by side in one run.

Checks ``REV`` out into a temporary git worktree; then, for ``--rounds`` rounds, starts one
child process per side (alternating which goes first), each importing its own ``qa`` and
timing ``retrieve()`` on the seed's test questions and on the first ``--questions`` drcd dev
questions (indexes in the shared index root, reused). Medians of the rounds' p50/p95 and
their ratio go to ``bench/results/ab_latency.json``. Run it on a quiet machine.

Run: ``.venv/bin/python bench/ab_latency.py REV [--rounds 3] [--questions 200]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from about import checkout  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import json, sys
sys.meta_path = [f for f in sys.meta_path  # the editable install would map qa to this tree
                 if not str(getattr(f, "__module__", "")).startswith("__editable__")]
sys.path.insert(0, sys.argv[1])
import qa
from qa.config import Settings
from qa.evaluate import corpus_retriever, read_jsonl
sys.path.append(sys.argv[4])
from latency import SEED_QUESTIONS, measure  # this tree's bench code, the side's own qa

questions = [q["q"] for q in SEED_QUESTIONS["on_topic"]] + SEED_QUESTIONS["off_topic"]
drcd = corpus_retriever(sys.argv[2] + "/corpus.jsonl", Settings.from_env(), progress=False)
asked = [q["text"] for q in read_jsonl(sys.argv[2] + "/queries.dev.jsonl")][:int(sys.argv[3])]
times = {"seed": measure(qa.default_retriever(), questions * 3), "drcd": measure(drcd, asked)}
print(json.dumps({k: [v["p50_ms"], v["p95_ms"]] for k, v in times.items()} | {"qa": qa.__file__}))
"""


def run(tree: Path, args) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree),
                           str(Path(args.bench) / "drcd"), str(args.questions),
                           str(ROOT / "bench")],
                          capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.pop("qa").startswith(str(tree)), "a side imported the other's code"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare with (e.g. the one before a change)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ab_latency.json")
    args = parser.parse_args()
    rounds = {"A": [], "B": []}
    with checkout(args.rev, Path(tempfile.mkdtemp(prefix="qa-ab-")) / "tree") as base:
        for number in range(args.rounds):
            for side in ("AB" if number % 2 == 0 else "BA"):
                rounds[side].append(run(base if side == "A" else ROOT, args))
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    result = {"A": args.rev, "B": head + ("+changes" if dirty else ""), "rounds": args.rounds}
    for corpus in ("seed", "drcd"):
        for side in "AB":
            p50, p95 = np.median([r[corpus] for r in rounds[side]], axis=0)
            result[f"{corpus}_{side}"] = {"p50_ms": round(float(p50), 1),
                                          "p95_ms": round(float(p95), 1)}
        result[f"{corpus}_p50_ratio_B_over_A"] = round(
            result[f"{corpus}_B"]["p50_ms"] / result[f"{corpus}_A"]["p50_ms"], 3)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The grid searches behind the fusion weights of ``qa/fusion.py``, on the dev halves.

For each dev set every question's raw evidence (passage and best-sentence cosines, BM25 and
its reachable bound, the translated keywords' BM25 and bound, scripts) is computed ONCE by the
shipped code, :meth:`qa.Retriever.evidence`, and captured where it enters the fusion step
(``qa.fusion.combine``, formerly ``qa.fusion.gather``). Every :class:`qa.fusion.Recipe` of the
grids is then fused from that same evidence by the same fusion function and ranked by fused
score (best 10), so a grid point costs only the fusion. The ranking's last step,
:mod:`qa.focus`, is left out: the grids tune the fusion before it (``bench/focus.py`` tunes it).

Grids, each around the shipped recipe (the parameters not on a grid keep their shipped value):

- ``keyword``: keyword_weight 4-32 x keyword_floor 0.01-0.1;
- ``passage``: passage_weight (question and passage in one script) 0-0.6 x
  cross_passage_weight (passage in the other script) 0.3-0.8;
- ``translation``: translation_weight 0-16;
- ``spread``: min_spread 0-0.02;
- ``long``: long_passage_weight 0.7-1.0 x long_keyword_weight 40-100 x long_keyword_floor
  0/0.03 (step 5: long questions, real posts);
- ``long_span``: long_from 15-25 x long_to 25-40 keyword tokens.

The score of a grid point is the mean over the dev sets of recall@1 (ties: mean MRR@10);
per-set figures are kept too. Writes ``bench/results/grid.json`` (``--out``; with ``--only``,
the other grids are kept from the file), which ``bench/render.py`` renders into
``docs/quality.md``.

Run: ``.venv/bin/python bench/grid.py [--only keyword passage translation spread long long_span]
[--datasets a,b] [--bench ../shared/bench] [--out F]``
(about 6 minutes on two cores, 8 under load, once the ``qa eval`` indexes exist).
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import itertools
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dev_set  # noqa: E402
from about import machine  # noqa: E402
from qa import evidence as evidence_module  # noqa: E402
from qa import fusion  # noqa: E402
from qa.config import Settings  # noqa: E402

DATASETS = dev_set.DEV_SETS
CHOSEN = fusion.Recipe()
GRIDS = {
    "keyword": {"keyword_weight": [4, 8, 12, 16, 20, 24, 28, 32],
                "keyword_floor": [0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1]},
    "passage": {"passage_weight": [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                "cross_passage_weight": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]},
    "translation": {"translation_weight": [0, 2, 4, 6, 8, 10, 12, 16]},
    "spread": {"min_spread": [0, 0.005, 0.009, 0.011, 0.013, 0.015, 0.02]},
    "long": {"long_passage_weight": [0.7, 0.8, 0.9, 1.0],
             "long_keyword_weight": [40, 60, 80, 100], "long_keyword_floor": [0, 0.03]},
    "long_span": {"long_from": [15, 20, 25], "long_to": [25, 30, 40]},
}
DEPTH = 10


def fusion_function():
    """The fusion step's name and function (``combine``, or ``gather`` before the rename)."""
    for name in ("combine", "gather"):
        function = getattr(fusion, name, None)
        if callable(function) and "recipe" in inspect.signature(function).parameters:
            return name, function
    raise SystemExit("qa.fusion has neither combine() nor gather() taking a recipe")


class Captured:
    """Within ``with``, every call of the fusion step is recorded (its arguments bound to its
    signature) and answered as usual."""

    def __init__(self):
        self.name, self.function = fusion_function()
        self.signature = inspect.signature(self.function)
        self.calls: list[inspect.BoundArguments] = []
        self._patched: list = []

    def __enter__(self) -> "Captured":
        def spy(*args, **kwargs):
            self.calls.append(self.signature.bind(*args, **kwargs))
            return self.function(*args, **kwargs)

        for module in (fusion, evidence_module):  # also a `from .fusion import combine`
            if getattr(module, self.name, None) is self.function:
                self._patched.append(module)
                setattr(module, self.name, spy)
        return self

    def __exit__(self, *exc) -> None:
        for module in self._patched:
            setattr(module, self.name, self.function)

    def fuse(self, call: inspect.BoundArguments, recipe: fusion.Recipe) -> np.ndarray:
        """The fused scores of one captured call under ``recipe``."""
        arguments = dict(call.arguments, recipe=recipe)
        return self.function(**arguments).fused


def collect(folder: Path, settings: Settings) -> tuple[Captured, list[set[int]]]:
    """Every dev question's captured evidence on the set in ``folder`` and its relevant rows."""
    dev = dev_set.load(folder, settings)
    retriever, prepared, vectors, relevant = dev.retriever, dev.questions, dev.vectors, dev.relevant
    retriever.recipe = CHOSEN
    with Captured() as captured:
        for question, vector in zip(prepared, vectors):
            evidence = retriever.evidence(question, vector)
            if evidence.rows is not None:
                raise SystemExit(f"{folder.name}: not an exact index; the grid needs every "
                                 "passage scored")
    if len(captured.calls) != len(prepared):
        raise SystemExit(f"{folder.name}: captured {len(captured.calls)} fusion calls for "
                         f"{len(prepared)} questions")
    return captured, relevant


def score(captured: Captured, relevant: list[set[int]], recipe: fusion.Recipe) -> dict:
    """recall@1 and MRR@10 of ``recipe`` over the captured questions (ranked like
    ``Retriever.rank``: fused score, best first, ties in row order)."""
    hits = reciprocal = 0.0
    for call, rows in zip(captured.calls, relevant):
        fused = captured.fuse(call, recipe)
        top = np.argpartition(-fused, DEPTH - 1)[:DEPTH] if len(fused) > DEPTH \
            else np.arange(len(fused))
        top = top[np.argsort(-fused[top], kind="stable")]
        rank = next((i for i, row in enumerate(top.tolist()) if row in rows), None)
        hits += rank == 0
        reciprocal += 0.0 if rank is None else 1 / (rank + 1)
    n = len(relevant)
    return {"recall@1": round(hits / n, 4), "mrr@10": round(reciprocal / n, 4)}


def points(grid: dict) -> list[dict]:
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*grid.values())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "grid.json")
    parser.add_argument("--only", nargs="+", choices=list(GRIDS), default=list(GRIDS))
    args = parser.parse_args()
    started = time.time()
    about = machine()
    datasets = args.datasets.split(",")
    settings = Settings.from_env()
    grids = {name: [{"values": p, "sets": {}} for p in points(GRIDS[name])]
             for name in args.only}
    queries = {}
    for name in datasets:
        captured, relevant = collect(Path(args.bench) / name, settings)
        queries[name] = len(relevant)
        for rows in grids.values():
            for row in rows:
                row["sets"][name] = score(captured, relevant, replace(CHOSEN, **row["values"]))
        print(f"{name}: {len(relevant)} questions, {time.time() - started:.0f} s",
              file=sys.stderr, flush=True)
        del captured
    for rows in grids.values():
        for row in rows:
            row["mean_recall@1"] = round(float(np.mean(
                [s["recall@1"] for s in row["sets"].values()])), 4)
            row["mean_mrr@10"] = round(float(np.mean(
                [s["mrr@10"] for s in row["sets"].values()])), 4)
            row["chosen"] = all(getattr(CHOSEN, k) == v for k, v in row["values"].items())
    out = {"date": datetime.date.today().isoformat(), "measured": about,
           "fusion_step": fusion_function()[0],
           "datasets": datasets, "queries": queries, "chosen": asdict(CHOSEN),
           "grids": {name: {"parameters": list(GRIDS[name]), "rows": rows}
                     for name, rows in grids.items()},
           "seconds": round(time.time() - started, 1)}
    if set(args.only) != set(GRIDS) and args.out.exists():  # keep the grids not rerun
        earlier = json.loads(args.out.read_text(encoding="utf-8"))
        if earlier.get("chosen") != out["chosen"] or earlier.get("datasets") != datasets:
            raise SystemExit(f"{args.out} was made with another recipe or other sets: "
                             "rerun every grid")
        out["grids"] = {name: out["grids"].get(name) or earlier["grids"][name]
                        for name in GRIDS if name in out["grids"] or name in earlier["grids"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    for name, rows in grids.items():
        best = max(rows, key=lambda r: (r["mean_recall@1"], r["mean_mrr@10"]))
        chosen = next(r for r in rows if r["chosen"])
        print(f"{name}: best {best['values']} {best['mean_recall@1']} / {best['mean_mrr@10']}; "
              f"chosen {chosen['values']} {chosen['mean_recall@1']} / {chosen['mean_mrr@10']}")


if __name__ == "__main__":
    main()

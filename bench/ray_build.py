"""A build on Ray against the local build (issue 18), side by side in one run, and what a
cluster would need for 10M and 100M passages.

The first ``--answers`` meddialog_zh answers, ``--per-file`` to a ``.txt``, are built by a
fresh ``qa build`` process three ways, alternating (``--rounds``, medians): locally, and with
``--ray local --ray-workers 1`` and ``2`` (a Ray runtime started by the build on this
machine's two cores, its start included). Reported: wall seconds and passages per second;
seconds of the embedding stage; whether each Ray index equals the local one (passages,
keyword matrix; vectors' least cosine).

Projection (on paper, from these figures): the embedding stage (the manifest's
``stage_seconds``) of the one-worker build gives what a cluster adds per CPU core, scaled by
the two-worker efficiency measured here (the stage includes starting the actors and loading
the model in each); the driver's serial part per passage (the two-worker build's
``stage_seconds.index``: hashing, assembling, the keyword and dense indexes) is scaled
linearly; starting the process and Ray, and writing, are left out. The driver also holds the passage vectors (1.5 GB per million).

Writes ``bench/results/ray_build.json``. Run on a quiet machine:
``.venv/bin/python bench/ray_build.py [--answers 1500] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from build_corpora import answers_folder  # noqa: E402
from build_speed import build_once  # noqa: E402

OUT = ROOT / "bench" / "results" / "ray_build.json"
WAYS = {"local": (), "ray, 1 worker": ("--ray", "local", "--ray-workers", "1"),
        "ray, 2 workers": ("--ray", "local", "--ray-workers", "2")}
CLUSTERS = (64, 256, 1024)  # worker cores of the projected clusters


def same_index(a: Path, b: Path) -> dict:
    from qa.store import IndexStore

    left, right = IndexStore(a).load(), IndexStore(b).load()
    records = [r.to_json() for r in left.records] == [r.to_json() for r in right.records]
    if not records:
        return {"records": False}
    keyword = all(np.array_equal(np.asarray(left.keyword._bm25.scores[k]),
                                 np.asarray(right.keyword._bm25.scores[k]))
                  for k in ("data", "indices", "indptr"))
    cosines = [(left.dense.vectors() * right.dense.vectors()).sum(axis=1).min(),
               (np.asarray(left.sentences, np.float32)
                * np.asarray(right.sentences, np.float32)).sum(axis=1).min()]
    return {"records": records, "keyword": keyword, "min_cosine": round(float(min(cosines)), 5)}


def stages(index: Path) -> dict:
    manifest = json.loads(next(index.glob("v-*/manifest.json")).read_text())
    return manifest["stage_seconds"]


def projection(passages: int, embed: dict, other: float) -> dict:
    """Cluster time for 10M and 100M passages: the embedding stage at one Ray worker's rate
    per core, times the two-worker efficiency measured here; the driver's serial part
    (``other``: seconds per passage) scaled linearly."""
    one = passages / embed["ray, 1 worker"]
    efficiency = min(1.0, embed["ray, 1 worker"] / (2 * embed["ray, 2 workers"]))
    rows = []
    for total in (10_000_000, 100_000_000):
        for cores in CLUSTERS:
            embed_s = total / (one * cores * efficiency)
            driver_s = other * total
            rows.append({"passages": total, "worker_cores": cores,
                         "hours": round((embed_s + driver_s) / 3600, 1),
                         "embedding_hours": round(embed_s / 3600, 2),
                         "driver_hours": round(driver_s / 3600, 1),
                         "driver_passage_vectors_gb": round(total * 384 * 4 / 1e9)})
    return {"per_worker_passages_per_s": round(one, 2), "two_worker_efficiency":
            round(efficiency, 3), "driver_seconds_per_passage": other, "clusters": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1500)
    parser.add_argument("--per-file", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qa-ray-build-"))
    try:
        docs = answers_folder(work, args.answers, args.per_file)
        runs: dict[str, list[float]] = {way: [] for way in WAYS}
        embeds: dict[str, list[float]] = {way: [] for way in WAYS}
        others: list[float] = []
        for _ in range(args.rounds):
            for way, options in WAYS.items():
                runs[way].append(build_once(docs, work / way, options=options)["seconds"])
                stage = stages(work / way)
                embeds[way].append(stage["embed"])
                if way == "ray, 2 workers":
                    others.append(stage["index"])
        from qa.store import IndexStore

        passages = len(IndexStore(work / "local").load().records)
        seconds = {way: float(np.median(s)) for way, s in runs.items()}
        embed = {way: float(np.median(s)) for way, s in embeds.items()}
        result = {"answers": args.answers, "files": len(list(docs.iterdir())),
                  "passages": passages, "rounds": runs, "embed_seconds": embeds,
                  "passages_per_s": {way: round(passages / s, 2) for way, s in seconds.items()},
                  "embed_passages_per_s": {way: round(passages / s, 2)
                                           for way, s in embed.items()},
                  "same_as_local": {way: same_index(work / "local", work / way)
                                    for way in WAYS if way != "local"},
                  "projection": projection(passages, embed, float(np.median(others)) / passages),
                  "measured": machine()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Build speed as a user waits for it (issue 17): the whole ``qa build`` of a folder against
plain sentence-transformers encoding of the same passages, side by side in one run.

- **build**: ``qa build DIR --index TMP`` in a fresh process (start, model load, reading,
  chunking, passage and sentence vectors, keywords, writing), on the first ``--answers``
  meddialog_zh answers written into one ``.txt`` (the issue's set-up); wall seconds, passages
  per second.
- **baseline**: sentence-transformers ``encode`` (fp32, torch, batch 32, ``passage: ``
  prompt) of exactly the passages that build made, the model already loaded: passages per
  second.
- **stages**: where the build's time goes, from a profile of the same build in this process
  (cumulative seconds of the functions that own each stage).

Rounds alternate (``--rounds``, medians). Writes ``bench/results/build_speed.json``. Run on a
quiet machine: ``.venv/bin/python bench/build_speed.py [--answers 600] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import read_jsonl  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
OUT = ROOT / "bench" / "results" / "build_speed.json"
STAGES = {  # stage: the function whose cumulative time it is
    "read and chunk": "sources.py:read",
    "passage and sentence vectors": "indexer.py:_embed",
    "dense index": "dense.py:build",
    "keyword index": "lexical.py:build",
    "write": "store.py:write",
    "load the new version": "store.py:load",
}


def corpus_folder(work: Path, answers: int) -> Path:
    docs = work / "docs"
    docs.mkdir()
    texts = [row["text"] for row in read_jsonl(BENCH / "meddialog_zh" / "corpus.jsonl")][:answers]
    (docs / "answers.txt").write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    return docs


def build_once(docs: Path, index: Path) -> float:
    shutil.rmtree(index, ignore_errors=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qa", "-q", "build", str(docs), "--index",
                           str(index)], env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return seconds


def passages_of(index: Path) -> list[str]:
    from qa.store import IndexStore

    loaded = IndexStore(index).load()
    config = loaded.manifest["config"]
    return [r.embed_text(config.get("titles", False)) for r in loaded.records]


def stages(docs: Path, work: Path) -> dict:
    from qa.retriever import Retriever

    settings = Settings.from_env()
    profile = cProfile.Profile()
    retriever = Retriever(work / "profiled", documents=[docs], settings=settings, progress=False)
    started = time.perf_counter()
    profile.enable()
    retriever.index
    profile.disable()
    total = time.perf_counter() - started
    stats = pstats.Stats(profile).stats
    found = {}
    for stage, owner in STAGES.items():
        file, name = owner.split(":")
        found[stage] = round(max((v[3] for (path, _, func), v in stats.items()
                                  if path.endswith("/qa/" + file) and func == name),
                                 default=0.0), 2)
    return {"seconds": round(total, 2), "stages": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    from qa.encoder import get_encoder

    work = Path(tempfile.mkdtemp(prefix="qa-build-speed-"))
    try:
        docs = corpus_folder(work, args.answers)
        index = work / "index"
        build_once(docs, index)  # warm the file cache and the model's export
        texts = passages_of(index)
        baseline = get_encoder(replace(Settings.from_env(), passage_backend="torch"))
        baseline.encode_passages(texts[:8])
        builds, encodes = [], []
        for _ in range(args.rounds):
            builds.append(build_once(docs, index))
            started = time.perf_counter()
            baseline.encode_passages(texts, batch_size=32)
            encodes.append(time.perf_counter() - started)
        manifest = json.loads(next(index.glob("v*/manifest.json")).read_text()) \
            if list(index.glob("v*/manifest.json")) else {}
        build_s, encode_s = float(np.median(builds)), float(np.median(encodes))
        result = {
            "answers": args.answers, "passages": len(texts),
            "sentences": manifest.get("counts", {}).get("sentences"),
            "characters": sum(map(len, texts)), "rounds": args.rounds,
            "build_seconds": [round(s, 2) for s in builds],
            "baseline_seconds": [round(s, 2) for s in encodes],
            "build_passages_per_s": round(len(texts) / build_s, 2),
            "baseline_passages_per_s": round(len(texts) / encode_s, 2),
            "ratio": round(encode_s / build_s, 3),
            "profile": stages(docs, work), "measured": machine(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""How long `qa sync` takes on a folder of 1,000 files when one changes.

Writes ``--files`` text files (default 1,000), each one drcd dev paragraph, indexes them once
(timed: the first build), then times, each ``--rounds`` times (medians): a look when nothing
changed (the size/mtime listing only), one file edited, one file added, one file deleted, all
through :class:`qa.sync.FolderWatch` as ``qa sync --watch`` runs it. Writes
``bench/results/sync_speed.json``.
Run: ``.venv/bin/python bench/sync_speed.py [--files 1000] [--rounds 3]`` (about 3 minutes).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.retriever import Retriever  # noqa: E402
from qa.sources import read_jsonl  # noqa: E402
from qa.sync import FolderWatch  # noqa: E402


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sync_speed.json")
    args = parser.parse_args()
    paragraphs = [row["text"] for row in read_jsonl(Path(args.bench) / "drcd" / "corpus.jsonl")]
    extra = paragraphs[args.files:args.files + 2 * args.rounds]
    with tempfile.TemporaryDirectory() as work:
        docs, settings = Path(work) / "docs", Settings.from_env()
        docs.mkdir()
        for number, text in enumerate(paragraphs[:args.files]):
            (docs / f"{number:04d}.txt").write_text(text, encoding="utf-8")
        watch = FolderWatch(Retriever(Path(work) / "index", documents=[docs], settings=settings,
                                      progress=False))
        first, _ = timed(watch.sync)
        counts = dict(watch.retriever.index.manifest["counts"])
        times: dict[str, list[float]] = {"nothing changed": [], "one file edited": [],
                                         "one file added": [], "one file deleted": []}
        for round_ in range(args.rounds):
            seconds, result = timed(watch.sync)
            assert result is None
            times["nothing changed"].append(seconds)
            edited = docs / f"{round_:04d}.txt"
            edited.write_text(extra[2 * round_], encoding="utf-8")
            seconds, result = timed(watch.sync)
            assert result.changed == (f"docs/{edited.name}",)
            times["one file edited"].append(seconds)
            (docs / f"new-{round_}.txt").write_text(extra[2 * round_ + 1], encoding="utf-8")
            seconds, result = timed(watch.sync)
            assert len(result.added) == 1
            times["one file added"].append(seconds)
            (docs / f"new-{round_}.txt").unlink()
            seconds, result = timed(watch.sync)
            assert len(result.removed) == 1
            times["one file deleted"].append(seconds)
        embedded = watch.retriever.index.manifest["counts"]["embedded"]
    out = {"date": datetime.date.today().isoformat(), "measured": machine(),
           "files": args.files, "rounds": args.rounds, "first_build_s": round(first, 1),
           "counts": counts, "last_sync_embedded": embedded,
           "median_s": {kind: round(statistics.median(values), 2)
                        for kind, values in times.items()}}
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

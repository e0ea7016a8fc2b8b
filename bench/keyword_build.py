"""The keyword index's build, side by side (issue 17): bm25s's own loop over passages against
the vectorised build of :func:`qa.bm25_matrix.lucene_scores` (bit-identical scores), on the bench
corpora repeated to ``--sizes`` passages; also the tokenising and token-id steps before it,
and the peak memory each build allocates (``tracemalloc``, in a second run: tracing slows it).

Writes ``bench/results/keyword_build.json``. Run on a quiet machine:
``.venv/bin/python bench/keyword_build.py [--sizes 50000 200000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.evaluate import read_jsonl  # noqa: E402
from qa.bm25_matrix import lucene_scores  # noqa: E402
from qa.lexical import tokenize  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
SETS = ["cmrc2018", "drcd", "meddialog_zh", "xquad_zh", "xquad_en"]
OUT = ROOT / "bench" / "results" / "keyword_build.json"


def timed(function, *args):
    """The result, seconds, and (in a second run, traced) peak bytes allocated."""
    started = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    function(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def bm25s_build(ids, vocabulary):
    import bm25s

    index = bm25s.BM25(k1=1.2, b=0.75)
    index.index((ids, vocabulary), show_progress=False, create_empty_token=False)
    return index.scores


def measure(texts: list[str]) -> dict:
    started = time.perf_counter()
    tokens = [tokenize(text) or [""] for text in texts]
    tokenized = time.perf_counter() - started
    started = time.perf_counter()
    vocabulary: dict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__  # as KeywordIndex.build numbers tokens
    ids = [np.fromiter(map(vocabulary.__getitem__, doc), dtype=np.int32, count=len(doc))
           for doc in tokens]
    vocabulary = dict(vocabulary)
    numbered = time.perf_counter() - started
    del tokens
    ours, ours_s, ours_peak = timed(lucene_scores, ids, len(vocabulary), 1.2, 0.75)
    theirs, theirs_s, theirs_peak = timed(bm25s_build, ids, vocabulary)
    same = all(np.array_equal(ours[k], theirs[k]) for k in ("data", "indices", "indptr"))
    return {"passages": len(texts), "tokens": int(sum(len(d) for d in ids)),
            "pairs": int(len(ours["data"])), "tokenize_s": round(tokenized, 1),
            "token_ids_s": round(numbered, 1), "bm25s_s": round(theirs_s, 1),
            "vectorised_s": round(ours_s, 1), "speedup": round(theirs_s / ours_s, 1),
            "bm25s_peak_mb": round(theirs_peak / 2**20), "vectorised_peak_mb":
            round(ours_peak / 2**20), "identical": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[50_000, 200_000])
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    texts = [row["text"] for name in SETS for row in read_jsonl(BENCH / name / "corpus.jsonl")]
    result = {"measured": machine(), "sizes": []}
    for size in args.sizes:
        copies = -(-size // len(texts))
        corpus = [f"{text} {i // len(texts)}" for i, text in enumerate(texts * copies)][:size]
        result["sizes"].append(measure(corpus))
        print(json.dumps(result["sizes"][-1]), flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""retrieve() at 100k and 1M passages: build, load, memory, latency and recall.

The corpus is the drcd dev corpus (built like ``qa eval``) grown with synthetic passages, as
the speed issue allows: passage ``i`` copies the text, sentence spans and script of a random
real passage ``a``, its passage and sentence vectors are ``a``'s plus Gaussian noise (cosine
about 0.9 to the original, renormalised), and its keyword tokens are those of another random
real passage ``b`` — so no synthetic passage matches a question on both sides at once. The
real passages keep their rows, ids and vectors, so drcd's dev questions still have answers.

Per size this writes a real index folder through :class:`qa.store.IndexStore` (index type
chosen by size, :mod:`qa.dense`), loads it in this process with :class:`qa.Retriever` and
reports: build seconds per part, load seconds, resident memory added per passage, disk bytes
per passage, ``retrieve()`` p50/p95 over dev questions (one at a time, end to end), recall@10
of the dense index against exact flat search on the same vectors, and recall@1 / @10 of the
whole ranking.

Writes ``bench/results/scale.json`` (``--out``): one row per size and vector type, with what it
ran on (rows of other sizes from earlier runs are kept). Run it on a quiet machine.

Run: ``.venv/bin/python bench/scale.py [--sizes 100000 1000000] [--fp32] [--out F]`` (about
3 minutes for 100,000 passages and 12 for 1,000,000 on two cores).
"""

from __future__ import annotations

import argparse
import json
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
from qa.dense import DenseIndex  # noqa: E402
from qa.evaluate import corpus_retriever, read_jsonl, read_qrels  # noqa: E402
from qa.lexical import KeywordIndex, tokenize  # noqa: E402
from qa.retriever import Retriever  # noqa: E402
from qa.store import IndexStore  # noqa: E402

NOISE = 0.025  # per-dimension sd: cosine to the original about 1 / sqrt(1 + 384 * sd^2) = 0.9


def rss_mb(kind: str = "VmRSS") -> float:
    """Resident memory of this process in MB: ``VmRSS`` (all), ``RssAnon`` (private memory)
    or ``RssFile`` (mapped file pages, which the kernel can drop and reread)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(kind + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def perturbed(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = vectors + rng.standard_normal(vectors.shape, dtype=np.float32) * NOISE
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


class Source:
    """The real corpus the synthetic one is grown from."""

    def __init__(self, bench: Path, settings: Settings):
        retriever = corpus_retriever(bench / "corpus.jsonl", settings, progress=False)
        index = retriever.index
        self.records = list(index.records)
        self.passages = index.dense.vectors()
        self.sentences = np.asarray(index.sentences, dtype=np.float32)
        self.spans = np.asarray(index.sentence_spans)
        self.first = np.searchsorted(self.spans[:, 0], np.arange(len(self.records) + 1))
        self.background = index.background
        self.manifest = index.manifest
        self.vocabulary: dict[str, int] = {}
        self.token_ids = [np.fromiter((self.vocabulary.setdefault(t, len(self.vocabulary))
                                       for t in tokenize(r.text)), dtype=np.int32)
                          for r in self.records]


def grow(source: Source, size: int, compact: bool, folder: Path, seed: int = 0) -> dict:
    """Write an index of ``size`` passages into ``folder``; returns build timings."""
    rng = np.random.default_rng(seed)
    real = len(source.records)
    text_of = np.concatenate([np.arange(real), rng.integers(0, real, size - real)])
    tokens_of = np.concatenate([np.arange(real), rng.integers(0, real, size - real)])
    timings = {}
    started = time.perf_counter()
    passages = np.empty((size, source.passages.shape[1]), dtype=np.float32)
    passages[:real] = source.passages
    for start in range(real, size, 100_000):
        rows = text_of[start:start + 100_000]
        passages[start:start + len(rows)] = perturbed(source.passages[rows], rng)
    counts = np.diff(source.first)[text_of]
    spans = np.empty((int(counts.sum()), 3), dtype=np.int32)
    dtype = np.float16 if compact else np.float32
    work = Path(tempfile.mkdtemp(prefix="qa-scale-", dir=folder.parent))
    sentences = np.lib.format.open_memmap(work / "sentences.npy", mode="w+", dtype=dtype,
                                          shape=(len(spans), passages.shape[1]))
    offset = 0
    for start in range(0, size, 50_000):
        rows = text_of[start:start + 50_000]
        sentence_rows = np.concatenate([np.arange(source.first[a], source.first[a + 1])
                                        for a in rows])
        block = source.sentences[sentence_rows]
        if start >= real:
            block = perturbed(block, rng)
        elif start + len(rows) > real:
            cut = int(np.diff(source.first)[rows[:real - start]].sum())
            block[cut:] = perturbed(block[cut:], rng)
        spans[offset:offset + len(block)] = source.spans[sentence_rows]
        spans[offset:offset + len(block), 0] = np.repeat(
            np.arange(start, start + len(rows)), np.diff(source.first)[rows])
        sentences[offset:offset + len(block)] = block
        offset += len(block)
    records = [source.records[a] if i < real else
               replace(source.records[a], id=f"synthetic-{i}", source="synthetic")
               for i, a in enumerate(text_of)]
    timings["synthesise_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    dense = DenseIndex.build(passages, passages.shape[1], compact=compact)
    timings["dense_build_s"] = round(time.perf_counter() - started, 1)
    timings["dense_kind"] = dense.kind
    started = time.perf_counter()
    keyword = KeywordIndex.build_from_ids([source.token_ids[b] for b in tokens_of],
                                          source.vocabulary)
    timings["keyword_build_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    manifest = {key: source.manifest[key] for key in ("model", "config", "corpus_hash")}
    manifest["config"] = dict(manifest["config"], compact=compact)
    manifest["counts"] = {"passages": size, "sentences": len(spans), "embedded": 0}
    IndexStore(folder).write(manifest, records, dense, keyword, sentences, spans,
                             source.background)
    timings["write_s"] = round(time.perf_counter() - started, 1)
    del sentences
    shutil.rmtree(work, ignore_errors=True)
    return timings, passages


def ranking_recall(retriever, asked: list[dict], vectors: np.ndarray, qrels: dict) -> tuple:
    """recall@1 and recall@10 of ``retriever``'s ranking over ``asked``."""
    hits1 = hits10 = 0
    for query, vector in zip(asked, vectors):
        question = retriever.prepare(query["text"])
        ranked = [retriever.index.records[r.row].id for r in retriever.rank(question, 10, vector)]
        relevant = qrels[str(query["id"])]
        hits1 += ranked[0] in relevant
        hits10 += any(pid in relevant for pid in ranked)
    return round(hits1 / len(asked), 4), round(hits10 / len(asked), 4)


def asked_questions(bench: Path, count: int) -> tuple[list[dict], dict]:
    qrels = read_qrels(bench / "qrels.dev.tsv")
    asked = [q for q in read_jsonl(bench / "queries.dev.jsonl") if str(q["id"]) in qrels]
    return asked[:count], qrels


def measure(folder: Path, exact_path: Path, bench: Path, count: int) -> dict:
    """Load the grown index (in a fresh process: memory is then the index's) and time, size
    and score it."""
    from qa.encoder import get_query_encoder

    settings = Settings.from_env()
    asked, qrels = asked_questions(bench, count)
    vectors = get_query_encoder(settings).encode_queries([q["text"] for q in asked])
    before = {kind: rss_mb(kind) for kind in ("RssAnon", "RssFile")}
    started = time.perf_counter()
    retriever = Retriever(folder, settings=settings, progress=False)
    retriever._loaded()
    load_s = time.perf_counter() - started
    loaded = {kind: rss_mb(kind) - mb for kind, mb in before.items()}
    retriever.retrieve(asked[0]["text"])
    times = []
    for query in asked:
        started = time.perf_counter()
        retriever.retrieve(query["text"])
        times.append((time.perf_counter() - started) * 1000)
    added = {kind: rss_mb(kind) - mb for kind, mb in before.items()}
    _, approximate = retriever.index.dense.search(vectors, 10)
    passages = np.load(exact_path, mmap_mode="r")
    exact = np.concatenate([np.argpartition(-(vectors[i:i + 20] @ passages.T), 10, axis=1)[:, :10]
                            for i in range(0, len(vectors), 20)])
    ann_recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approximate, exact)])
    recall1, recall10 = ranking_recall(retriever, asked, vectors, qrels)
    disk = sum(p.stat().st_size for p in retriever.index.folder.rglob("*") if p.is_file())
    size = len(passages)
    return {"load_s": round(load_s, 2), "private_mb_loaded": round(loaded["RssAnon"]),
            "private_mb": round(added["RssAnon"]),
            "private_bytes_per_passage": round(added["RssAnon"] * 2 ** 20 / size),
            "mapped_file_mb": round(added["RssFile"]),
            "disk_bytes_per_passage": round(disk / size),
            "p50_ms": round(float(np.percentile(times, 50)), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1),
            "dense_recall@10_vs_exact": round(float(ann_recall), 4),
            "recall@1": recall1, "recall@10": recall10, "questions": len(asked)}


def run(sizes: list[int], compact: bool, questions: int, bench: Path,
        keep: Path | None = None) -> list[dict]:
    """Grow, measure (in a child process) and delete an index per size (``keep``: grow into
    ``keep/<size>`` and leave it there)."""
    settings = Settings.from_env()
    source = Source(bench, settings)
    asked, qrels = asked_questions(bench, questions)
    real = corpus_retriever(bench / "corpus.jsonl", settings, progress=False)
    vectors = real.query_encoder.encode_queries([q["text"] for q in asked])
    real_recall = ranking_recall(real, asked, vectors, qrels)
    rows = []
    for size in sizes:
        root = keep / str(size) if keep else \
            Path(tempfile.mkdtemp(prefix="qa-scale-", dir=settings.index_root))
        root.mkdir(parents=True, exist_ok=True)
        try:
            timings, passages = grow(source, size, compact, root / "index")
            np.save(root / "exact.npy", passages)
            del passages
            print(f"built {size}: {timings}", file=sys.stderr, flush=True)
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(root / "index"), str(root / "exact.npy"),
                 "--bench", str(bench), "--questions", str(questions)],
                check=True, capture_output=True, text=True)
            row = {"passages": size, "compact": compact, **timings,
                   **json.loads(child.stdout.strip().splitlines()[-1]),
                   "recall@1_real_2k": real_recall[0], "recall@10_real_2k": real_recall[1]}
        finally:
            if not keep:
                shutil.rmtree(root, ignore_errors=True)
        print(json.dumps(row), file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench" / "drcd"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--fp32", action="store_true",
                        help="fp32 vectors (default: fp16, as indexes of that size are built)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="grow into KEEP/<size> and keep the index")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    parser.add_argument("--measure", nargs=2, metavar=("INDEX", "EXACT_NPY"),
                        help="(internal) measure a grown index in this process")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]), Path(args.bench),
                                 args.questions)))
        return
    about = machine()
    rows = [dict(row, measured=about)
            for row in run(args.sizes, not args.fp32, args.questions, Path(args.bench), args.keep)]
    earlier = json.loads(args.out.read_text()).get("rows", []) if args.out.exists() else []
    done = {(row["passages"], row["compact"]) for row in rows}
    rows += [row for row in earlier if (row["passages"], row["compact"]) not in done]
    out = {"rows": sorted(rows, key=lambda row: (row["passages"], row["compact"]))}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Build speed as a user waits for it (issue 17), side by side in one run.

- **issue set-up** (``--only issue``): ``qa build`` of the first ``--answers`` meddialog_zh
  answers written into one ``.txt``, in a fresh process (start, model load, reading, chunking,
  passage and sentence vectors, keywords, writing), against sentence-transformers ``encode``
  (fp32, torch, batch 32, ``passage: `` prompt) of exactly the passages that build made, the
  model already loaded; rounds alternate (``--rounds``, medians); and where the build's time
  goes, from a profile of the same build in this process.
- **before/after** (``--only corpora``): ``qa build`` by the code of ``--before`` (a git
  worktree of that commit, the same virtual environment) and by this checkout, alternating
  (before first in even rounds, after first in odd ones), on
  the whole meddialog_zh corpus (one ``.txt``) and on the first ``--prefix`` passages' worth of
  the 100k-passage corpus (:func:`mixed_corpus`): passages, sentences and model tokens per
  second, CPU use (process CPU seconds / wall seconds / cores), the fp32-equivalent FLOP rate
  as a share of the CPU's measured fp32 peak (a 4096² numpy matmul), peak resident memory.
- **memory** (``--only memory``): the peak resident memory of one build by each code on
  the same corpora, kept beside the timings (from the child's own ``VmHWM``).
- **100k** (``--only full``): this checkout's build of the whole 100k-passage corpus once, the
  same figures, and from them a projection for 1M passages (about an hour on two cores).
- **projection** (``--only project``): the 1M projection from the before/after run's
  100k-corpus prefix, when the whole 100k build was not run.

Writes ``bench/results/build_speed.json`` (sections not run are kept from earlier runs). Run on
a quiet machine: ``.venv/bin/python bench/build_speed.py [--only issue corpora full]``.
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

from about import checkout, machine  # noqa: E402
from build_corpora import answers_folder, mixed_corpus  # noqa: E402
from qa.config import Settings  # noqa: E402

OUT = ROOT / "bench" / "results" / "build_speed.json"
BEFORE = "94ef511"  # the last commit before issue 17's changes
STAGES = {  # stage: the function whose cumulative time it is
    "read and chunk": "sources.py:read",
    "passage and sentence vectors": "build_vectors.py:embed_records",
    "dense index": "dense.py:build",
    "keyword index": "lexical.py:build_from_ids",
    "write": "store.py:write",
    "load the new version": "store.py:load",
}


def _high_water_mb(pid: int) -> int | None:
    """The process's own peak resident memory (``VmHWM``), ``None`` once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next((row for row in status if row.startswith("VmHWM:")), None)
    except OSError:
        return None
    return int(line.split()[1]) // 1024 if line else None


def build_once(docs: Path, index: Path, code: Path = ROOT, options: tuple = ()) -> dict:
    """``qa build`` (with ``options``) by the code in ``code``, in a fresh process: wall and
    CPU seconds and peak resident memory of that process (its ``VmHWM``, read every 0.2 s:
    the rusage's maxrss would start from this bench's own size, which the child inherits at
    fork; a Ray runtime's processes are not counted)."""
    shutil.rmtree(index, ignore_errors=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(code))
    started = time.perf_counter()
    peak = 0
    with tempfile.TemporaryFile("w+") as errors:  # a pipe could fill up and block the child
        child = subprocess.Popen([sys.executable, "-m", "qa", "-q", "build", str(docs),
                                  "--index", str(index), *options], env=env, cwd=code,
                                 stdout=subprocess.DEVNULL, stderr=errors, text=True)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _high_water_mb(child.pid) or 0)
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        if status:
            errors.seek(0)
            raise SystemExit(errors.read()[-2000:])
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mb": peak}


def passages_of(index: Path) -> list[str]:
    from qa.store import IndexStore

    loaded = IndexStore(index).load()
    config = loaded.manifest["config"]
    return [r.embed_text(config.get("titles", False)) for r in loaded.records]


def work_of(index: Path) -> dict:
    """Passages, sentences, model tokens and fp32-equivalent GFLOP of what ``index`` embedded."""
    from tokenizers import Tokenizer

    from qa.converter import default_model_path
    from qa.int8 import PROMPT, int8_model_path
    from qa.store import IndexStore

    loaded = IndexStore(index).load()
    config = loaded.manifest["config"]
    texts = [r.embed_text(config.get("titles", False)) for r in loaded.records]
    spans = np.asarray(loaded.sentence_spans)
    texts += [loaded.records[o].text[a:b] for o, a, b in spans.tolist()]
    tokenizer = Tokenizer.from_file(str(int8_model_path(default_model_path(
        Settings.from_env().cache_dir)) / "tokenizer.json"))
    tokenizer.enable_truncation(512)
    tokens = np.array([len(e.ids) for e in tokenizer.encode_batch([PROMPT + t for t in texts])])
    # BERT-small: 2 FLOPs per weight per token, plus attention (QK^T and AV) per layer
    gflop = float((2 * 21.3e6 * tokens + 12 * 2 * 2 * tokens ** 2 * 384).sum() / 1e9)
    return {"passages": len(loaded.records), "sentences": len(spans),
            "characters": sum(len(r.text) for r in loaded.records),
            "tokens": int(tokens.sum()), "gflop": round(gflop, 1)}


def rates(run: dict, work: dict, peak: float) -> dict:
    """Per-second figures of one build."""
    seconds = run["seconds"]
    return dict(run, passages_per_s=round(work["passages"] / seconds, 2),
                sentences_per_s=round(work["sentences"] / seconds, 2),
                tokens_per_s=round(work["tokens"] / seconds),
                cpu_use=round(run["cpu_seconds"] / seconds / (os.cpu_count() or 1), 3),
                share_of_fp32_peak=round(work["gflop"] / seconds / peak, 3))


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


def issue_setup(work: Path, answers: int, rounds: int) -> dict:
    """The issue's own comparison: the whole build against sentence-transformers fp32."""
    from qa.encoder import get_encoder

    docs = answers_folder(work, answers)
    index = work / "index"
    build_once(docs, index)  # warm the file cache and the model's export
    texts = passages_of(index)
    baseline = get_encoder(replace(Settings.from_env(), passage_backend="torch"))
    baseline.encode_passages(texts[:8])
    builds, encodes = [], []
    for _ in range(rounds):
        builds.append(build_once(docs, index)["seconds"])
        started = time.perf_counter()
        baseline.encode_passages(texts, batch_size=32)
        encodes.append(time.perf_counter() - started)
    manifest = json.loads(next(index.glob("v*/manifest.json")).read_text())
    build_s, encode_s = float(np.median(builds)), float(np.median(encodes))
    return {"answers": answers, "passages": len(texts),
            "sentences": manifest["counts"]["sentences"],
            "characters": sum(map(len, texts)), "rounds": rounds,
            "build_seconds": builds, "baseline_seconds": [round(s, 2) for s in encodes],
            "build_passages_per_s": round(len(texts) / build_s, 2),
            "baseline_passages_per_s": round(len(texts) / encode_s, 2),
            "ratio": round(encode_s / build_s, 3),
            "profile": stages(docs, work), "measured": machine()}


def peak_memory(work: Path, before: str, prefix: int) -> dict:
    """Peak resident memory of one build by each code on the before/after corpora (memory
    does not depend on a busy machine, so this may run beside other work)."""
    out = {}
    with checkout(before, work / "before-memory") as code:
        for name, docs in {"meddialog_zh": answers_folder(work, None),
                           f"mixed, first {prefix:,} passages":
                               mixed_corpus(work, 100_000, prefix)}.items():
            out[name] = {side: build_once(docs, work / f"m-{side}",
                                          code if side == "before" else ROOT)["peak_mb"]
                         for side in ("before", "after")}
            print(name, json.dumps(out[name]), flush=True)
    return dict(out, measured=machine())


def before_after(work: Path, before: str, prefix: int, rounds: int) -> dict:
    """Both codes on the whole meddialog_zh corpus and a prefix of the 100k corpus."""
    from speed import peak_gflops

    with checkout(before, work / "before") as code:
        corpora = {"meddialog_zh": answers_folder(work, None),
                   f"mixed, first {prefix:,} passages": mixed_corpus(work, 100_000, prefix)}
        out = {"before": before, "rounds": rounds, "corpora": {}}
        for name, docs in corpora.items():
            runs = {"before": [], "after": []}
            for turn in range(rounds):  # before first in even rounds, after first in odd ones
                for side in ("before", "after")[::1 if turn % 2 == 0 else -1]:
                    runs[side].append(build_once(docs, work / f"i-{side}",
                                                 code if side == "before" else ROOT))
            done = work_of(work / "i-after")
            peak = peak_gflops()
            row = {"work": done, "peak_gflops": round(peak, 1)}
            for side, measured in runs.items():
                middle = sorted(measured, key=lambda r: r["seconds"])[len(measured) // 2]
                row[side] = dict(rates(middle, done, peak),
                                 rounds=[r["seconds"] for r in measured])
            row["speedup"] = round(row["before"]["seconds"] / row["after"]["seconds"], 3)
            out["corpora"][name] = row
            print(name, json.dumps(row), flush=True)
    return dict(out, measured=machine())


def project_1m(seconds: float, passages: int, what: str) -> dict:
    """Hours for a 1M-passage build: ``seconds`` for ``passages`` (a whole measured build of
    ``what``) scaled linearly, plus the parts that cost more at 1M than in proportion,
    measured there: the dense index (an inverted file from 64k passages on) and writing
    (``bench/scale.py``), and the keyword index (``bench/keyword_build.py``'s largest size,
    scaled linearly)."""
    scale = json.loads((OUT.parent / "scale.json").read_text())
    big = next(r for r in scale["rows"] if r["passages"] == 1_000_000)
    keyword = json.loads((OUT.parent / "keyword_build.json").read_text())["sizes"][-1]
    others = big["dense_build_s"] + big["write_s"] + \
        keyword["vectorised_s"] * 1_000_000 / keyword["passages"]
    return {"hours": round((seconds * 1_000_000 / passages + others) / 3600, 1),
            "basis": f"{what}: {passages:,} passages in {seconds:,.0f} s, scaled to 1M, plus "
                     f"{others:.0f} s of dense index, keywords and writing measured at 1M"}


def full_build(work: Path, passages: int) -> dict:
    """This checkout's build of the whole corpus once, and a projection to 1M passages."""
    from speed import peak_gflops

    docs = mixed_corpus(work, passages)
    run = build_once(docs, work / "full")
    done = work_of(work / "full")
    row = dict(rates(run, done, peak_gflops()), work=done)
    row["projection_1m"] = project_1m(run["seconds"], done["passages"], "the 100k build")
    return dict(row, measured=machine())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=["issue", "corpora"],
                        choices=["issue", "corpora", "memory", "full", "project"])
    parser.add_argument("--answers", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--prefix", type=int, default=5_000)
    parser.add_argument("--corpus-rounds", type=int, default=1)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    out = Path(args.out)
    result = json.loads(out.read_text()) if out.exists() else {}
    work = Path(tempfile.mkdtemp(prefix="qa-build-speed-"))
    try:
        if "issue" in args.only:
            result["issue"] = issue_setup(work, args.answers, args.rounds)
        if "corpora" in args.only:
            result["before_after"] = before_after(work, args.before, args.prefix,
                                                  args.corpus_rounds)
        if "memory" in args.only:  # the corpora's peak memory, measured on its own
            result["before_after"]["memory"] = peak_memory(work, args.before, args.prefix)
        if "full" in args.only:
            result["full"] = full_build(work, args.passages)
        if "project" in args.only:  # from the before/after run's 100k-corpus prefix
            name, row = next((n, r) for n, r in result["before_after"]["corpora"].items()
                             if n.startswith("mixed"))
            result["before_after"]["projection_1m"] = project_1m(
                row["after"]["seconds"], row["work"]["passages"], f"now, {name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()

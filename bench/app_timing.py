"""The chat's start-up and reply latency through the API, against a really running app.

Starts ``app.py`` on a free loopback port with the seeds (index built on the first run, reused
on the second), and reports: seconds until the page is served, seconds until the first answer,
and the median / p95 reply latency of ``/chat`` over repeated questions.

Writes ``bench/results/app_timing.json`` (``--out``). Run it on a quiet machine.

Run: ``.venv/bin/python bench/app_timing.py [--repeat 30] [--out F]`` (about a minute)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from about import machine  # noqa: E402
from load import QUESTIONS, start_app  # noqa: E402


def one_start(workdir: Path) -> tuple[dict, object]:
    started = time.perf_counter()
    process, url = start_app(workdir)
    served = time.perf_counter() - started
    from gradio_client import Client

    client = Client(url, verbose=False)
    client.predict(QUESTIONS[0], api_name="/chat")
    return {"page_served_s": round(served, 1),
            "first_answer_s": round(time.perf_counter() - started, 1)}, (process, client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "app_timing.json")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="qa-app-"))
    results = {"measured": machine()}
    first, (process, _) = one_start(workdir)
    results["cold_index_build"] = first
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(workdir / "seeds")
    second, (process, client) = one_start(workdir)
    results["built_index"] = second
    times = []
    for i in range(args.repeat):
        started = time.perf_counter()
        client.predict(QUESTIONS[i % len(QUESTIONS)], api_name="/chat")
        times.append((time.perf_counter() - started) * 1000)
    results["api_reply_ms"] = {"p50": round(float(np.percentile(times, 50))),
                               "p95": round(float(np.percentile(times, 95))), "n": len(times)}
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

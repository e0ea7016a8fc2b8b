"""Load test: N concurrent chat clients against a running app on 127.0.0.1 for T seconds.

Starts the app (unless ``--url`` is given), drives it with ``--clients`` threads, each with its
own ``gradio_client.Client`` asking questions in a loop, uploads one document halfway through,
and reports requests, errors, p50/p95 latency and the server's peak resident memory. Bounded
in time and count; only loopback addresses are accepted.

Run: ``.venv/bin/python bench/load.py [--clients 50] [--seconds 60]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["划船社区党委书记是谁?", "宁海县第三水厂哪一年开始征地?", "香榧种植面积有多大?",
             "How many volunteers with medical knowledge were recruited?", "怎么做红烧肉?",
             "Who is the party secretary of Huachuan community?"]
MAX_REQUESTS = 100_000


def start_app(workdir: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (workdir / "seeds").mkdir()
    for seed in (ROOT / "seeds").iterdir():
        shutil.copy(seed, workdir / "seeds" / seed.name)
    env = dict(os.environ, QA_DOCS=str(workdir / "seeds"), QA_UPLOADS=str(workdir / "uploads"),
               QA_INDEX_ROOT=str(workdir / "index"), GRADIO_SERVER_PORT=str(port),
               GRADIO_SERVER_NAME="127.0.0.1", HF_HUB_OFFLINE="1")
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=2)
            return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the app did not start")


def peak_memory(pid: int, stop: threading.Event, out: list) -> None:
    import psutil

    process = psutil.Process(pid)
    while not stop.is_set():
        try:
            rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(True))
        except psutil.Error:
            break
        out.append(rss)
        stop.wait(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--url", help="a running app on 127.0.0.1 (default: start one)")
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    workdir = Path(tempfile.mkdtemp(prefix="qa-load-"))
    process = None
    if args.url:
        if urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("load tests only target this machine's loopback address")
        url = args.url
    else:
        process, url = start_app(workdir)
    memory, stop = [], threading.Event()
    if process:
        threading.Thread(target=peak_memory, args=(process.pid, stop, memory), daemon=True).start()
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.time() + args.seconds

    def worker(number: int) -> None:
        client = Client(url, verbose=False)
        i = number
        while time.time() < deadline and len(latencies) + len(errors) < MAX_REQUESTS:
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            started = time.perf_counter()
            try:
                reply = client.predict(question, api_name="/chat")
                ok = isinstance(reply, str) and reply
            except Exception as exc:  # any failure counts as an error
                ok, reply = False, repr(exc)
            with lock:
                (latencies if ok else errors).append(time.perf_counter() - started if ok else reply)

    def uploader() -> None:
        time.sleep(args.seconds / 2)
        doc = workdir / "upload.md"
        doc.write_text("# 灯塔\n\n石浦港的灯塔建于1921年。\n", encoding="utf-8")
        started = time.perf_counter()
        status = Client(url, verbose=False).predict([handle_file(str(doc))], api_name="/upload")
        print(f"upload during load: {time.perf_counter() - started:.1f} s, {status[0][:40]!r}",
              file=sys.stderr)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.clients)]
    threads.append(threading.Thread(target=uploader))
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.seconds + 120)
    elapsed = time.time() - started
    stop.set()
    if process:
        process.terminate()
        process.wait(timeout=30)
    shutil.rmtree(workdir, ignore_errors=True)
    times = np.array(latencies) * 1000 if latencies else np.zeros(1)
    print(json.dumps({
        "clients": args.clients, "seconds": round(elapsed, 1), "requests": len(latencies),
        "errors": len(errors), "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(times, 50))), "p95_ms": round(float(np.percentile(times, 95))),
        "server_peak_rss_mb": round(max(memory) / 2**20) if memory else None,
        "first_errors": [str(e)[:200] for e in errors[:3]],
    }))


if __name__ == "__main__":
    main()

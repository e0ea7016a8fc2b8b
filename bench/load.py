"""Load test: N concurrent chat clients against a running app on 127.0.0.1 for T seconds.

Starts the app (unless ``--url`` is given), drives it with ``--clients`` threads, each with its
own ``gradio_client.Client`` asking questions in a loop, and a third of the way through uploads
hostile files (``--hostile``, the default: 1 MB of the text that made the old sentence splitter
quadratic, a DOCX that unpacks to 1 GB, HTML nested 100,000 deep) and then a normal document.
Reports requests, errors, p50/p95 latency before, during and after the uploads, and the
server's peak resident memory; ``--out`` also writes the JSON to a file. Bounded in time and
count; only loopback addresses are accepted.

Run: ``.venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--out bench/results/load.json]``
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
               GRADIO_SERVER_NAME="127.0.0.1", HF_HUB_OFFLINE="1",
               QA_QUEUE_SHARE="0")  # all clients share one address here, as behind a proxy
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


def hostile_files(folder: Path) -> list[Path]:
    """Uploads meant to cost the server: each must be refused or read in bounded time."""
    import zipfile

    text = folder / "splitter.txt"
    text.write_text(("a" * 16000 + "..x.") * 62, encoding="utf-8")  # 1 MB
    bomb = folder / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            chunk = b"<w:p><w:r><w:t>" + b"A" * 65536 + b"</w:t></w:r></w:p>"
            for _ in range(16384):  # 1 GB unpacked, about 1 MB packed
                part.write(chunk)
        archive.writestr("[Content_Types].xml", "<Types/>")
    nested = folder / "nested.html"
    nested.write_text("<div>" * 100_000 + "深" + "</div>" * 100_000, encoding="utf-8")
    return [text, bomb, nested]


def summary(samples: list[tuple[float, float]]) -> dict:
    """Count, p50 and p95 (ms) of ``(start time, seconds)`` samples."""
    times = np.array([seconds for _, seconds in samples]) * 1000
    if not len(times):
        return {"requests": 0}
    return {"requests": len(times), "p50_ms": round(float(np.percentile(times, 50))),
            "p95_ms": round(float(np.percentile(times, 95)))}


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
    parser.add_argument("--no-hostile", dest="hostile", action="store_false",
                        help="upload only the normal document")
    parser.add_argument("--out", help="also write the JSON result to this file")
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
    uploads: dict = {}

    def worker(number: int) -> None:
        client = Client(url, verbose=False)
        i = number
        while time.time() < deadline and len(latencies) + len(errors) < MAX_REQUESTS:
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            started, begun = time.perf_counter(), time.time()
            try:
                reply = client.predict(question, api_name="/chat")
                ok = isinstance(reply, str) and reply
            except Exception as exc:  # any failure counts as an error
                ok, reply = False, repr(exc)
            with lock:
                if ok:
                    latencies.append((begun, time.perf_counter() - started))
                else:
                    errors.append(reply)

    def uploader() -> None:
        time.sleep(args.seconds / 3)
        client = Client(url, verbose=False)
        uploads["start"] = time.time()
        if args.hostile:
            for path in hostile_files(workdir):
                started = time.perf_counter()
                status = client.predict([handle_file(str(path))], api_name="/upload")[0]
                uploads[path.name] = {"seconds": round(time.perf_counter() - started, 1),
                                      "reply": status[:160]}
        doc = workdir / "upload.md"
        doc.write_text("# 灯塔\n\n石浦港的灯塔建于1921年。\n", encoding="utf-8")
        started = time.perf_counter()
        status = client.predict([handle_file(str(doc))], api_name="/upload")[0]
        uploads["upload.md"] = {"seconds": round(time.perf_counter() - started, 1),
                                "reply": status[:160]}
        uploads["end"] = time.time()

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
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    shutil.rmtree(workdir, ignore_errors=True)
    begin, end = uploads.get("start", float("inf")), uploads.get("end", float("inf"))
    result = {
        "clients": args.clients, "seconds": round(elapsed, 1), "requests": len(latencies),
        "errors": len(errors), "requests_per_s": round(len(latencies) / elapsed, 1),
        **{k: v for k, v in summary(latencies).items() if k != "requests"},
        "before_uploads": summary([s for s in latencies if s[0] < begin]),
        "during_uploads": summary([s for s in latencies if begin <= s[0] < end]),
        "after_uploads": summary([s for s in latencies if s[0] >= end]),
        "uploads": {k: v for k, v in uploads.items() if k not in ("start", "end")},
        "upload_window_s": [round(begin - started, 1), round(end - started, 1)],
        "server_peak_rss_mb": round(max(memory) / 2**20) if memory else None,
        "first_errors": [str(e)[:200] for e in errors[:3]],
    }
    print(json.dumps(result, ensure_ascii=False))
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The parts of ``bench/load.py``: the app it starts, its users, the hostile files, the
clients' calls and how their results are recorded and summarised."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = ["划船社区党委书记是谁?", "宁海县第三水厂哪一年开始征地?", "香榧种植面积有多大?",
             "How many volunteers with medical knowledge were recruited?", "怎么做红烧肉?",
             "Who is the party secretary of Huachuan community?"]
SEED_QUESTION, SEED_ANSWER = QUESTIONS[0], "俞复玲"
MAX_REQUESTS = 100_000
ENDPOINTS = ("chat", "api_retrieve", "v1_chat", "v1_chat_stream", "documents_upload",
             "documents_list", "documents_delete", "page_upload")
API_CYCLE = ("api_retrieve", "v1_chat", "api_retrieve", "v1_chat", "api_retrieve",
             "v1_chat_stream")
UPLOADERS = ("alice", "bob")
HOSTILE_USER = "mallory"


def start_app(workdir: Path, accounts: bool = True) -> tuple[subprocess.Popen, str]:
    """The app on a free loopback port over a copy of ``seeds/``, its log in
    ``workdir/app.log``; returns once ``/api/health`` says ok."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (workdir / "seeds").mkdir()
    for seed in (ROOT / "seeds").iterdir():
        shutil.copy(seed, workdir / "seeds" / seed.name)
    env = dict(os.environ, QA_DOCS=str(workdir / "seeds"), QA_UPLOADS=str(workdir / "uploads"),
               QA_INDEX_ROOT=str(workdir / "index"), GRADIO_SERVER_PORT=str(port),
               QA_ACCOUNTS=str(workdir / "accounts.json"),  # absent with --no-accounts
               GRADIO_SERVER_NAME="127.0.0.1", HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False", QA_RATE_LIMIT="0")
    if not accounts:
        env["QA_QUEUE_SHARE"] = "0"  # all clients share one address here, as behind a proxy
    log = open(workdir / "app.log", "w")
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(url + "api/health", timeout=2)
            return process, url
        except urllib.error.HTTPError:  # 503 while the index is loaded
            time.sleep(0.5)
        except OSError:  # not listening yet
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the app did not start:\n" + tail(workdir / "app.log"))


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def make_users(path: Path, names: list[str]) -> dict[str, dict]:
    """Add each of ``names`` to the accounts file ``path`` (a user and a token each):
    ``{name: {"password", "token"}}``."""
    from qa.accounts import Accounts

    accounts, users = Accounts(path), {}
    for name in names:
        password = f"{name}'s load-test password"
        accounts.add_user(name, password)
        users[name] = {"password": password, "token": accounts.create_token(name, "load")[1]}
    return users


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


class Recorder:
    """Latency samples and errors per endpoint, from many threads."""

    def __init__(self):
        self.samples = {name: [] for name in ENDPOINTS}
        self.errors = {name: [] for name in ENDPOINTS}
        self.first: list[str] = []
        self.lock = threading.Lock()

    def count(self) -> int:
        return sum(map(len, self.samples.values())) + sum(map(len, self.errors.values()))

    def timed(self, endpoint: str, call) -> bool:
        """Run ``call()``, which returns ``None`` when its reply was right and else what was
        wrong; record its latency or its error. Any exception is an error."""
        begun, started = time.time(), time.perf_counter()
        try:
            problem = call()
        except Exception as exc:  # noqa: BLE001 - any failure counts as an error
            problem = repr(exc)
        seconds = time.perf_counter() - started
        with self.lock:
            if problem is None:
                self.samples[endpoint].append((begun, seconds))
            else:
                self.errors[endpoint].append(problem)
                if len(self.first) < 10:
                    self.first.append(f"{endpoint} at {time.strftime('%H:%M:%S')}: "
                                      f"{str(problem)[:300]}")
        return problem is None

    def endpoint(self, name: str) -> dict:
        ok = summary(self.samples[name])
        return {"requests": ok["requests"] + len(self.errors[name]),
                "errors": len(self.errors[name]),
                **{k: v for k, v in ok.items() if k != "requests"}}


def bad_status(reply) -> str | None:
    if 200 <= reply.status_code < 300:
        return None
    return f"HTTP {reply.status_code}: {reply.text[:200]}"


def seed_checked(question: str, text: str) -> str | None:
    if question == SEED_QUESTION and SEED_ANSWER not in text:
        return f"the seed question's reply does not name {SEED_ANSWER}: {text[:200]!r}"
    return None


def api_call(client, kind: str, question: str) -> str | None:
    """One API request of ``kind`` (see :data:`API_CYCLE`); what was wrong, or ``None``."""
    if kind == "api_retrieve":
        reply = client.post("/api/retrieve", json={"question": question, "k": 3})
        return bad_status(reply) or seed_checked(
            question, json.dumps(reply.json()["passages"], ensure_ascii=False))
    body = {"model": "qa-chat", "messages": [{"role": "user", "content": question}]}
    if kind == "v1_chat":
        reply = client.post("/v1/chat/completions", json=body)
        if bad_status(reply):
            return bad_status(reply)
        content = reply.json()["choices"][0]["message"]["content"]
        return seed_checked(question, content) if content else "an empty reply"
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as reply:
        if not 200 <= reply.status_code < 300:
            reply.read()
            return bad_status(reply)
        events = [line[6:] for line in reply.iter_lines() if line.startswith("data: ")]
    if not events or events[-1] != "[DONE]":
        return f"the stream ended without [DONE] after {len(events)} events"
    content = "".join(json.loads(e)["choices"][0]["delta"].get("content", "")
                      for e in events[:-1])
    return seed_checked(question, content) if content else "an empty streamed reply"

"""Load test: chat-page and API clients, with uploads, against an app on 127.0.0.1 for T seconds.

Starts the app (unless ``--url`` is given) with an accounts file holding one user per client
(``chat01``..., ``api01``...), ``alice`` and ``bob`` who upload, and ``mallory`` who sends the
hostile files, and drives it for ``--seconds`` (60) with ``--clients`` (50) threads at once:

- half of them (``--api-clients``, default ``--clients // 2``) API clients, each with its own
  user's bearer token (httpx), cycling ``POST /api/retrieve``, ``/v1/chat/completions``,
  ``/api/retrieve``, ``/v1/chat/completions``, ``/api/retrieve`` and a streamed
  ``/v1/chat/completions`` (read to ``data: [DONE]``) over the questions below;
- the other half chat-page clients, each logged in as its own user with ``gradio_client``,
  asking the questions in a loop;
- ``alice`` and ``bob`` (``--uploaders``, 0 for none) each, every ``--upload-every`` seconds,
  uploading a small document of their own through ``POST /api/documents``, listing their
  documents (theirs must be there, nobody else's private upload may be) and removing it;
- a third of the way through, ``mallory`` uploads hostile files through the page
  (``--hostile``, the default: 1 MB of the text that made the old sentence splitter quadratic,
  a DOCX that unpacks to 1 GB, HTML nested 100,000 deep) and then a normal document.

Every client has its own user, so each spends its own quota and its own share of the queue,
as separate people would; the app is still started with ``QA_RATE_LIMIT=0`` (no per-user
request quota) so that the API clients, which ask faster than 120 a minute, never get a 429
counted as an error: this measures the server, not the quota. ``--no-accounts`` starts it as
before there were accounts (nobody logs in, ``QA_QUEUE_SHARE=0`` since every client shares
one address); ``--no-accounts --api-clients 0 --uploaders 0`` is the old chat-only run.

An error is any exception, any non-2xx reply, a chat reply that is empty or a warning (⚠️), a
stream that does not end with ``[DONE]``, and a wrong answer to the seed question
"划船社区党委书记是谁?" (the retrieved passages, the page's and the OpenAI-compatible replies
must name 俞复玲). Reports per endpoint requests (sent, errors included), errors, p50/p95
latency (of the successful ones); total requests, errors and requests/s; the chat page's
latency before, during and after the hostile uploads; the server's peak resident memory; the
first errors. The top-level ``requests``, ``errors``, ``p50_ms``, ``p95_ms`` and
``requests_per_s`` are the chat page's successful replies (as before the API clients were
added); ``total`` and ``endpoints`` cover everything. ``--out`` also writes the JSON to a file.
The started app's log goes to ``app.log`` in a temporary folder, whose tail is printed and
which is kept when there were errors. Bounded in time and count; only loopback addresses are
accepted.

Run: ``.venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--out bench/results/load.json]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import about  # noqa: E402
from load_parts import (API_CYCLE, ENDPOINTS, HOSTILE_USER, MAX_REQUESTS, QUESTIONS,  # noqa: E402
                        UPLOADERS, Recorder, api_call,
                        bad_status, hostile_files, make_users, peak_memory, seed_checked,
                        start_app, summary, tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="chat-page and API clients")
    parser.add_argument("--api-clients", type=int,
                        help="how many of --clients use the API (default: half)")
    parser.add_argument("--uploaders", type=int, default=len(UPLOADERS), choices=(0, 1, 2),
                        help="users uploading through the API (alice, bob)")
    parser.add_argument("--upload-every", type=float, default=10,
                        help="seconds between each uploader's uploads")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--url", help="a running app on 127.0.0.1 (default: start one)")
    parser.add_argument("--accounts", help="with --url: the running app's accounts file, to "
                        "which the load test's users are added (without it, nobody logs in)")
    parser.add_argument("--no-accounts", dest="use_accounts", action="store_false",
                        help="start the app without accounts: nobody logs in")
    parser.add_argument("--no-hostile", dest="hostile", action="store_false",
                        help="upload only the normal document through the page")
    parser.add_argument("--out", help="also write the JSON result to this file")
    args = parser.parse_args()
    import httpx
    from gradio_client import Client, handle_file

    api_clients = args.clients // 2 if args.api_clients is None else args.api_clients
    chat_clients = args.clients - api_clients
    uploaders = list(UPLOADERS[:args.uploaders])
    workdir = Path(tempfile.mkdtemp(prefix="qa-load-"))
    chat_names = [f"chat{n + 1:02d}" for n in range(chat_clients)]
    api_names = [f"api{n + 1:02d}" for n in range(api_clients)]
    names = chat_names + api_names + uploaders + [HOSTILE_USER]
    process, accounts_file = None, None
    if args.url:
        if urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("load tests only target this machine's loopback address")
        url = args.url.rstrip("/") + "/"
        accounts_file = Path(args.accounts) if args.accounts else None
    elif args.use_accounts:
        accounts_file = workdir / "accounts.json"
    users = make_users(accounts_file, names) if accounts_file else {}
    if not args.url:
        process, url = start_app(workdir, accounts=args.use_accounts)
    memory, stop = [], threading.Event()
    if process:
        threading.Thread(target=peak_memory, args=(process.pid, stop, memory), daemon=True).start()
    record = Recorder()
    deadline = time.time() + args.seconds
    uploads: dict = {}

    def running() -> bool:
        return time.time() < deadline and record.count() < MAX_REQUESTS

    def page_client(name: str):
        user = users.get(name)
        return Client(url, auth=(name, user["password"]) if user else None, verbose=False)

    def api_client(name: str):
        user = users.get(name)
        headers = {"authorization": f"Bearer {user['token']}"} if user else {}
        return httpx.Client(base_url=url, headers=headers, timeout=120)

    def chat_worker(number: int) -> None:
        client, i = None, number
        while running():
            if client is None:  # logging in (not timed; a failure is an error)
                try:
                    client = page_client(chat_names[number])
                except Exception as exc:  # noqa: BLE001 - recorded, then tried again
                    record.timed("chat", lambda exc=exc: f"login: {exc!r}")
                    time.sleep(1)
                    continue
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1

            def ask() -> str | None:
                reply = client.predict(question, api_name="/chat")
                if not isinstance(reply, str) or not reply.strip() or reply.startswith("⚠️"):
                    return f"not an answer: {reply!r:.200}"
                return seed_checked(question, reply)

            record.timed("chat", ask)

    def api_worker(number: int) -> None:
        i = number
        with api_client(api_names[number]) as client:
            while running():
                kind, question = API_CYCLE[i % len(API_CYCLE)], QUESTIONS[i % len(QUESTIONS)]
                i += 1
                record.timed(kind, lambda: api_call(client, kind, question))

    def uploader(number: int) -> None:
        name = uploaders[number]
        others = [u for u in UPLOADERS if u != name]
        time.sleep(min(args.upload_every, args.seconds / 4) * (number + 1) / 2)
        n = 0
        with api_client(name) as client:
            while running():
                n += 1
                file_name = f"{name}-{n}.md"
                text = (f"# {name} 的笔记 {n}\n\n{name} 的第{n}号文件：石浦港第{n}号码头的编号是 "
                        f"{uuid.uuid4().hex[:12]}，只有{name}能看到。\n")
                found: dict = {}

                def upload() -> str | None:
                    reply = client.post("/api/documents", files=[
                        ("files", (file_name, text.encode("utf-8"), "text/markdown"))])
                    return bad_status(reply)

                def listing() -> str | None:
                    reply = client.get("/api/documents")
                    if bad_status(reply):
                        return bad_status(reply)
                    ids = [d["id"] for d in reply.json()["documents"]]
                    mine = [i for i in ids if i.endswith("/" + file_name)]
                    theirs = [i for i in ids if any(f"/users/{o}/" in i for o in others)]
                    if theirs and users:
                        return f"{name} is shown another user's private upload: {theirs[:3]}"
                    if not mine:
                        return f"{file_name} is not listed after its upload"
                    found["id"] = mine[0]
                    return None

                def remove() -> str | None:
                    reply = client.delete("/api/documents/" + quote(found["id"]))
                    return bad_status(reply)

                if record.timed("documents_upload", upload) and \
                        record.timed("documents_list", listing):
                    record.timed("documents_delete", remove)
                stop.wait(max(0.0, min(args.upload_every, deadline - time.time())))

    def hostile_uploader() -> None:
        time.sleep(args.seconds / 3)
        uploads["start"] = time.time()
        try:
            client = page_client(HOSTILE_USER)
        except Exception as exc:  # noqa: BLE001
            record.timed("page_upload", lambda: f"login: {exc!r}")
            uploads["end"] = time.time()
            return
        doc = workdir / "upload.md"
        doc.write_text("# 灯塔\n\n石浦港的灯塔建于1921年。\n", encoding="utf-8")
        for path in (hostile_files(workdir) if args.hostile else []) + [doc]:
            started = time.perf_counter()
            reply: dict = {}

            def send() -> str | None:
                reply["status"] = client.predict([handle_file(str(path))], api_name="/upload")[0]
                return None  # a refusal is the right answer to a hostile file

            if record.timed("page_upload", send):
                uploads[path.name] = {"seconds": round(time.perf_counter() - started, 1),
                                      "reply": reply["status"][:160]}
        uploads["end"] = time.time()

    threads = [threading.Thread(target=chat_worker, args=(n,)) for n in range(chat_clients)]
    threads += [threading.Thread(target=api_worker, args=(n,)) for n in range(api_clients)]
    threads += [threading.Thread(target=uploader, args=(n,)) for n in range(len(uploaders))]
    threads.append(threading.Thread(target=hostile_uploader))
    measured = about.machine()
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.time() + 180))
    elapsed = time.time() - started
    stop.set()
    if process:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    chat = record.samples["chat"]
    begin, end = uploads.get("start", float("inf")), uploads.get("end", float("inf"))
    endpoints = {name: record.endpoint(name) for name in ENDPOINTS}
    total = sum(e["requests"] for e in endpoints.values())
    errors = sum(e["errors"] for e in endpoints.values())
    result = {
        "clients": args.clients, "chat_clients": chat_clients, "api_clients": api_clients,
        "uploaders": uploaders, "accounts": bool(users), "rate_limit": 0 if process else None,
        "seconds": round(elapsed, 1), "requests": len(chat), "errors": len(record.errors["chat"]),
        "requests_per_s": round(len(chat) / elapsed, 1),
        **{k: v for k, v in summary(chat).items() if k != "requests"},
        "total": {"requests": total, "errors": errors, "requests_per_s": round(total / elapsed, 1)},
        "endpoints": endpoints,
        "before_uploads": summary([s for s in chat if s[0] < begin]),
        "during_uploads": summary([s for s in chat if begin <= s[0] < end]),
        "after_uploads": summary([s for s in chat if s[0] >= end]),
        "uploads": {k: v for k, v in uploads.items() if k not in ("start", "end")},
        "upload_window_s": [round(begin - started, 1), round(end - started, 1)],
        "server_peak_rss_mb": round(max(memory) / 2**20) if memory else None,
        "first_errors": record.first,
        "measured": measured,
    }
    print(json.dumps(result, ensure_ascii=False))
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    if process and errors:
        print(f"\n{errors} errors; the server's log (kept in {workdir}/app.log) ends:\n"
              + tail(workdir / "app.log"), file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

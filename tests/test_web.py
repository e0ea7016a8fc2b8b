"""The chat server under hostile use, through a real running server: headers, logins, the
queue, uploads that must not linger, page state from the server."""

import concurrent.futures
import time
from pathlib import Path

import gradio_client
import httpx
import pytest

from conftest import start_app

PASSWORD = "secret-pass"


@pytest.fixture(scope="module")
def guarded_app(tmp_path_factory, encoder):
    """A server with a login, one reply at a time and a queue of 8 (4 per client)."""
    yield from start_app(tmp_path_factory.mktemp("guarded"), QA_AUTH=f"ann:{PASSWORD}",
                         QA_MAX_QUEUE="8", QA_CONCURRENCY="1")


def login(url: str, password: str, client: httpx.Client | None = None) -> int:
    client = client or httpx.Client()
    return client.post(url + "login", data={"username": "ann", "password": password}).status_code


def test_every_response_carries_security_headers(running_app):
    for path in ("", "config", "gradio_api/info"):
        headers = httpx.get(running_app["url"] + path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def test_one_client_cannot_fill_the_queue(guarded_app):
    # a queue of 8, at most 4 waiting per login, one reply computed at a time
    url = guarded_app["url"]
    session = httpx.Client()
    assert login(url, PASSWORD, session) == 200
    info = session.get(url + "config").json()
    chat = next(d["id"] for d in info["dependencies"] if d.get("api_name") == "chat")

    def join(n: int) -> httpx.Response:
        body = {"data": ["划船社区党委书记是谁?" + "的" * 900, [], 10], "fn_index": chat,
                "session_hash": f"flood{n}", "event_data": None, "trigger_id": None}
        return session.post(url + "gradio_api/queue/join", json=body, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(join, range(24)))
    codes = [a.status_code for a in answers]
    assert codes.count(429) > 0 and codes.count(200) >= 4 and set(codes) <= {200, 429}, codes
    refused = next(a for a in answers if a.status_code == 429).json()["detail"]
    assert refused == "at most 4 requests may wait per client; wait for your answers"
    deadline = time.time() + 120
    while True:  # once its requests are answered, the same client is served again
        if join(99).status_code == 200:
            break
        assert time.time() < deadline, "the queue never drained"
        time.sleep(1)


def test_failed_logins_are_limited(guarded_app):  # after the queue test, which logs in
    url = guarded_app["url"]
    assert httpx.get(url + "config").status_code in (401, 403)  # nothing without a login
    assert [login(url, "wrong") for _ in range(5)] == [400] * 5
    assert login(url, "wrong") == 429
    assert login(url, PASSWORD) == 429  # even the right password waits out the window
    assert "failed login from 127.0.0.1" in (guarded_app["base"] / "app.log").read_text()


def test_uploads_do_not_linger_in_the_server_temp_folder(running_app, tmp_path):
    url, incoming = running_app["url"], running_app["base"] / "uploads" / ".incoming"
    big = tmp_path / "big.txt"
    big.write_bytes(("大" * 1000 + "。\n").encode("utf-8") * 7200)  # 21.6 MB
    response = httpx.post(url + "gradio_api/upload", files={"files": ("big.txt", big.read_bytes())})
    assert response.status_code == 413, response.text
    note = tmp_path / "tide.md"
    note.write_text("# 潮汐\n\n石浦港每天涨潮两次。\n", encoding="utf-8")
    client = gradio_client.Client(url, verbose=False)
    status = client.predict([gradio_client.handle_file(str(note))], api_name="/upload")[0]
    assert "Indexed" in status
    left = [p for p in incoming.rglob("*") if p.is_file() and p.stat().st_size]
    assert left == [], left  # (the refused one leaves at most an empty temp file, no content)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    status = client.predict([gradio_client.handle_file(str(broken))], api_name="/upload")[0]
    assert "Refused" in status
    assert not [p for p in incoming.rglob("*") if p.is_file() and p.stat().st_size]


def test_a_server_killed_mid_upload_finishes_it_at_restart(tmp_path_factory, encoder, tmp_path):
    import signal

    base = tmp_path_factory.mktemp("crash")
    runs = start_app(base)
    app = next(runs)
    book = tmp_path / "harbour.txt"  # big enough that indexing takes a few seconds
    book.write_text("石浦港的灯塔建于1921年，由渔民集资修建。\n\n" + "".join(
        f"第{n}段讲的是渔港第{n}号码头的故事，码头长{n % 90 + 10}米。\n\n" for n in range(1200)),
        encoding="utf-8")
    client = gradio_client.Client(app["url"], verbose=False)
    job = client.submit([gradio_client.handle_file(str(book))], api_name="/upload")
    journal = base / "uploads" / ".journal.json"
    deadline = time.time() + 120
    while '"pending"' not in (journal.read_text() if journal.exists() else ""):
        assert time.time() < deadline and not job.done(), "the upload never became pending"
        time.sleep(0.05)
    app["process"].send_signal(signal.SIGKILL)  # mid-upload: file written, index not yet
    app["process"].wait()
    next(runs, None)
    restarted = start_app(base)
    again = next(restarted)
    try:
        log = (base / "app.log").read_text()
        assert "harbour.txt: its upload was interrupted by a restart; it is now indexed" in log
        assert "read 1 of 2 documents" in log  # only the interrupted upload is read again
        reply = gradio_client.Client(again["url"], verbose=False).predict("石浦港的灯塔是哪一年建的?",
                                                                          api_name="/chat")
        assert "1921" in reply and "harbour.txt" in reply
    finally:
        next(restarted, None)


def test_an_empty_library_starts_says_so_and_can_lose_its_last_document(tmp_path_factory,
                                                                      encoder, tmp_path):
    runs = start_app(tmp_path_factory.mktemp("empty"), seed=False)
    app = next(runs)
    try:
        client = gradio_client.Client(app["url"], verbose=False)
        assert "Not found" in client.predict("Who is the party secretary?", api_name="/chat")
        note = tmp_path / "well.md"
        note.write_text("# 古井\n\n村口的古井有三百年历史。\n", encoding="utf-8")
        status = client.predict([gradio_client.handle_file(str(note))], api_name="/upload")
        assert "Indexed" in status[0] and "| uploads/well\\.md | 1 |" in status[1], status
        assert str(app["base"]) not in status[1]  # sources relative to their folder
        reply = client.predict("古井有多少年历史?", api_name="/chat")
        assert "三百年" in reply and "`uploads/well.md`" in reply and str(app["base"]) not in reply
        removed = client.predict(api_name="/remove", source="uploads/well.md")
        assert "Removed" in removed[0] and "No documents yet" in removed[1], removed
        assert "没有找到" in client.predict("古井有多少年历史?", api_name="/chat")
    finally:
        next(runs, None)


def test_uploads_and_replies_through_the_server(running_app, tmp_path):
    url = running_app["url"]
    clients = [gradio_client.Client(url, verbose=False) for _ in range(2)]
    for number, (client, text) in enumerate(zip(clients, [
            "The secret ingredient of the harbour soup is smoked fish.",
            "The harbour lighthouse keeper writes \u202eevil\u202c notes and $$x^2$$ sums."])):
        folder = tmp_path / f"client{number}"
        folder.mkdir()
        (folder / "same.txt").write_text(text, encoding="utf-8")
        status = client.predict([gradio_client.handle_file(str(folder / "same.txt"))],
                                api_name="/upload")[0].replace("\\", "")
        assert status.startswith("✅ Indexed: same"), status
    assert "stored as same (2).txt" in status
    again = clients[0].predict([gradio_client.handle_file(str(tmp_path / "client0" / "same.txt"))],
                               api_name="/upload")[0].replace("\\", "")
    assert "the same content is already in the library as uploads/same.txt" in again
    reply = clients[0].predict("What is the secret ingredient of the soup?", api_name="/chat")
    assert "The <strong>secret</strong> <strong>ingredient</strong> of the harbour" in reply
    reply = clients[1].predict("What does the lighthouse keeper write?", api_name="/chat")
    assert "\u202e" not in reply and "\\$\\$x^2\\$\\$" in reply and "uploads/same (2).txt" in reply

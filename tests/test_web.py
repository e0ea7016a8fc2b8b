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


def test_failed_logins_are_limited(guarded_app):
    url = guarded_app["url"]
    assert httpx.get(url + "config").status_code in (401, 403)  # nothing without a login
    assert [login(url, "wrong") for _ in range(5)] == [400] * 5
    assert login(url, "wrong") == 429
    assert login(url, PASSWORD) == 429  # even the right password waits out the window
    assert "failed login from 127.0.0.1" in (guarded_app["base"] / "app.log").read_text()


def test_one_client_cannot_fill_the_queue(running_app):
    # the open app's queue holds 256, one address at most 256 // 8 = 32 of them
    url = running_app["url"]
    info = httpx.get(url + "config").json()
    chat = next(d["id"] for d in info["dependencies"] if d.get("api_name") == "chat")
    question = "划船社区党委书记是谁?" + "的" * 900

    def join(n: int) -> httpx.Response:
        body = {"data": [question, [], 10], "fn_index": chat, "session_hash": f"flood{n}",
                "event_data": None, "trigger_id": None}
        return httpx.post(url + "gradio_api/queue/join", json=body, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(join, range(120)))
    codes = [a.status_code for a in answers]
    assert codes.count(429) > 0 and codes.count(200) >= 32 and set(codes) <= {200, 429}, codes
    refused = next(a for a in answers if a.status_code == 429).json()["detail"]
    assert refused == "at most 32 requests may wait per client; wait for your answers"
    deadline = time.time() + 180
    while True:  # once its requests are answered, the same client is served again
        try:
            reply = gradio_client.Client(url, verbose=False).predict("划船社区党委书记是谁?",
                                                                     api_name="/chat")
            break
        except Exception:
            assert time.time() < deadline, "the queue never drained"
            time.sleep(2)
    assert "俞复玲" in reply


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

"""The JSON API (qa.api) through a really running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "划船社区党委书记是谁?"


@pytest.fixture(scope="module")
def api(running_app):
    with httpx.Client(base_url=running_app["url"], timeout=60) as client:
        yield client


def test_health(api):
    reply = api.get("/api/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok"}
    listed = api.get("/api/documents").json()["documents"]
    assert listed[0]["id"].startswith("seeds/") and listed[0]["passages"] >= 25


def test_retrieve_gives_what_qa_ask_json_prints(api, running_app):
    reply = api.post("/api/retrieve", json={"question": QUESTION, "k": 3, "possible": True})
    assert reply.status_code == 200
    passages = reply.json()["passages"]
    assert passages and "俞复玲" in passages[0]["answer"]
    assert {"id", "text", "score", "source", "location", "place", "tier"} <= passages[0].keys()
    index = running_app["base"] / "index" / "chat"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION, "-k", "3", "--json",
                          "--index", str(index)], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == passages


@pytest.mark.parametrize("body, message", [
    ({"question": "   "}, "empty"),
    ({"question": QUESTION, "k": 0}, "k"),
    ({"question": QUESTION, "k": "many"}, "k"),
    ({"k": 3}, "question"),
    ({"question": QUESTION, "sources": "nothing-*.pdf"}, "no document matches"),
])
def test_bad_input_is_400_with_a_message(api, body, message):
    reply = api.post("/api/retrieve", json=body)
    assert reply.status_code == 400 and message in reply.json()["error"]


def test_malformed_and_oversized_bodies(api):
    broken = api.post("/api/retrieve", content=b"{not json",
                      headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "error" in broken.json()
    huge = api.post("/api/retrieve", json={"question": QUESTION, "history": ["问" * 70_000]})
    assert huge.status_code == 413 and "bytes" in huge.json()["error"]


def test_the_api_needs_the_login_when_the_page_does(tmp_path_factory):
    from conftest import start_app

    runs = start_app(tmp_path_factory.mktemp("api-guarded"), QA_AUTH="ann:secret-word")
    app = next(runs)
    try:
        with httpx.Client(base_url=app["url"], timeout=60) as client:
            assert client.get("/api/health").status_code == 200  # says only "ok"
            assert client.get("/api/documents").status_code == 401
            assert client.get("/api/documents", auth=("ann", "wrong")).status_code == 401
            assert client.post("/api/retrieve", json={"question": QUESTION}).status_code == 401
            reply = client.post("/api/retrieve", json={"question": QUESTION},
                                auth=("ann", "secret-word"))
            assert reply.status_code == 200 and reply.json()["passages"]
    finally:
        next(runs, None)

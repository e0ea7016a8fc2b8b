"""Shared fixtures: the real converted model, loaded once per test session; nothing downloads."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from strict_ci import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_b0e56cfeed1eb8fd.txt"


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    """Default settings with a private index root (the model cache is the user's)."""
    from qa.config import Settings

    return replace(Settings.from_env(), index_root=tmp_path_factory.mktemp("indexes"))


@pytest.fixture(scope="session")
def encoder(settings):
    from qa.encoder import get_encoder

    return get_encoder(settings)


@pytest.fixture(scope="session")
def seed_retriever(settings, encoder, tmp_path_factory):
    """A retriever over a copy of seeds/, built once."""
    from qa.retriever import Retriever

    docs = tmp_path_factory.mktemp("seeds")
    shutil.copy(SEED, docs / SEED.name)
    retriever = Retriever(settings.index_root / "seeds", documents=[docs], settings=settings,
                          progress=False)
    retriever.index
    return retriever


@pytest.fixture
def make_retriever(settings, encoder, tmp_path):
    """Factory: a retriever over the given {file name: text or bytes} documents."""
    from qa.retriever import Retriever

    def make(files: dict, name: str = "docs"):
        docs = tmp_path / name
        docs.mkdir(exist_ok=True)
        for file_name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (docs / file_name).write_bytes(data)
        return Retriever(tmp_path / f"index-{name}", documents=[docs], settings=settings,
                         progress=False), docs

    return make


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(base: Path, seed: bool = True, ready: bool = True, **env_extra):
    """The real chat app in a child process on 127.0.0.1 with its own docs (a copy of the seed,
    or none), uploads, accounts and index under ``base``; yields ``{url, base, process}`` once
    its index is ready (``ready=False``: once it listens), stops it after."""
    import subprocess
    import sys
    import time
    import urllib.request

    (base / "seeds").mkdir(exist_ok=True)
    if seed:
        shutil.copy(SEED, base / "seeds" / SEED.name)
    port = _free_port()
    env = dict(os.environ, QA_DOCS=str(base / "seeds"), QA_UPLOADS=str(base / "uploads"),
               QA_INDEX_ROOT=str(base / "index"), QA_ACCOUNTS=str(base / "accounts.json"),
               GRADIO_SERVER_PORT=str(port),
               GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False", **env_extra)
    log = open(base / "app.log", "w")
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:  # the page is served at once; ready when health says ok
        if process.poll() is not None:
            raise RuntimeError((base / "app.log").read_text())
        try:
            urllib.request.urlopen(url + "api/health", timeout=2)
            break
        except urllib.error.HTTPError:  # 503 while the index is loaded
            if not ready:
                break
            time.sleep(0.5)
        except OSError:  # not listening yet
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError("the app did not start in 300 s:\n" + (base / "app.log").read_text())
    yield {"url": url, "base": base, "process": process}
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def running_app(tmp_path_factory, encoder):
    """The real chat app, shared by the API and browser tests."""
    yield from start_app(tmp_path_factory.mktemp("app"))

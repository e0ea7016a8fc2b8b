"""The package as a stranger installs it: a wheel built offline, installed into a fresh venv
(reusing the installed dependencies, no index), used from a folder outside the checkout."""

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import gradio_client
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = "# 灯塔\n\n石浦港的灯塔建于1921年，由渔民集资修建，高十八米。\n"
QUESTION = "石浦港的灯塔是哪一年建的?"


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600,
                          **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory, settings, encoder):
    """A venv with only the wheel installed in it; the dependencies come from this one."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"  # the tracked files a wheel is built from, not this working tree's
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "qa", source / "qa", ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "-q", "-w", base / "dist", source)
    [wheel] = (base / "dist").glob("qa_chat-*.whl")
    venv = base / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout
    (Path(site.strip()) / "reuse.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "-q", wheel)
    work = base / "elsewhere"
    (work / "notes").mkdir(parents=True)
    (work / "notes" / "lighthouse.md").write_text(DOC, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "GRADIO_"))}
    env.update(HOME=str(base / "home"), XDG_DATA_HOME=str(base / "data"), PYTHONPATH="",
               QA_CACHE_DIR=str(settings.cache_dir), HF_HUB_OFFLINE="1")
    return {"wheel": wheel, "venv": venv, "work": work, "env": env, "data": base / "data"}


def test_wheel_holds_the_package_and_its_data(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    for needed in ("qa/background.json", "qa/calibration.json", "qa/web.py", "qa/cli.py"):
        assert needed in names, names
    assert not [n for n in names if n.startswith(("tests/", "seeds/", "embeddings/"))]


def test_installed_qa_builds_asks_and_serves_outside_the_checkout(installed):
    qa, work, env = installed["venv"] / "bin" / "qa", installed["work"], installed["env"]
    where = run(installed["venv"] / "bin" / "python", "-c", "import qa; print(qa.__file__)",
                cwd=work, env=env).stdout
    assert str(installed["venv"]) in where, where
    built = run(qa, "build", "notes", cwd=work, env=env)
    assert "indexed 1 documents" in built.stdout, built.stdout
    index = installed["data"] / "qa-chat" / "embeddings" / "notes"
    assert (index / "CURRENT").is_file(), built.stderr
    answer = run(qa, "ask", QUESTION, "-k", "1", "--docs", "notes", cwd=work, env=env)
    assert "1921" in answer.stdout and "building the index" not in answer.stderr, answer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([qa, "serve", "--docs", "notes", "--port", str(port)], cwd=work,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.time() + 180
        while True:
            try:
                assert urllib.request.urlopen(url + "api/health", timeout=2).status == 200
                break  # listening at once; health says ok once the index is loaded
            except OSError:
                assert server.poll() is None, server.stderr.read()[-3000:]
                assert time.time() < deadline, "qa serve did not answer in 180 s"
                time.sleep(0.5)
        reply = gradio_client.Client(url, verbose=False).predict(QUESTION, api_name="/chat")
        assert "1921" in reply and "lighthouse.md" in reply
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (installed["data"] / "qa-chat" / "uploads").is_dir()
    assert not (installed["venv"] / "embeddings").exists()

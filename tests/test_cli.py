"""The ``qa`` command in real child processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_qa(*args, env_extra=None, timeout=300):
    env = dict(os.environ, HF_HUB_OFFLINE="1", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def built(settings, encoder, tmp_path_factory):
    """`qa build` of a small folder into a private index root."""
    docs = tmp_path_factory.mktemp("cli-docs")
    (docs / "water.txt").write_text(
        "宁海县第三水厂\n\n宁海县第三水厂从2006年开始土地征用工作，但一直未能建成使用。\n", encoding="utf-8")
    (docs / "bank.txt").write_bytes("銀行在大廳一角設置老年休息區。\n".encode("big5"))
    root = tmp_path_factory.mktemp("cli-index")
    out = run_qa("build", str(docs), "--index", str(root / "docs"))
    assert out.returncode == 0, out.stderr
    return root / "docs", out.stdout


def test_build_reports_counts(built):
    _, stdout = built
    assert "indexed 2 documents, 2 passages, 2 sentences (4 texts embedded" in stdout


def test_ask_json(built):
    folder, _ = built
    out = run_qa("ask", "水厂哪一年开始征地?", "-k", "1", "--json", "--index", str(folder))
    assert out.returncode == 0, out.stderr
    [passage] = json.loads(out.stdout)
    assert "2006" in passage["text"] and passage["source"].endswith("water.txt")
    assert passage["title"] == "宁海县第三水厂"


def test_log_levels(built, tmp_path):
    folder, _ = built
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("宁海县第三水厂从2006年开始土地征用工作。\n", encoding="utf-8")
    root = ["--index-root", str(tmp_path / "idx")]
    loud = run_qa("-v", "ask", "水厂哪一年开始征地?", "--docs", str(docs), *root)
    assert loud.returncode == 0 and "2006" in loud.stdout, loud.stderr
    assert "INFO qa.live_index: building the index" in loud.stderr, loud.stderr
    assert "INFO qa.indexer: indexed 1 passages" in loud.stderr
    docs.joinpath("a.txt").write_text("宁海县第三水厂从2007年开始土地征用工作。\n", encoding="utf-8")
    quiet = run_qa("ask", "水厂哪一年开始征地?", "--docs", str(docs), "--quiet", *root)
    assert quiet.returncode == 0 and "2007" in quiet.stdout and quiet.stderr == "", quiet.stderr


def test_logging_leaves_the_root_logger_alone():
    import logging

    from qa.cli import configure_logging

    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    configure_logging(verbose=1)
    configure_logging(verbose=1)
    assert (root.level, list(root.handlers)) == before
    qa_logger = logging.getLogger("qa")
    assert qa_logger.level == logging.DEBUG and len(qa_logger.handlers) == 1
    configure_logging(quiet=True)
    assert qa_logger.level == logging.WARNING
    qa_logger.handlers.clear()
    qa_logger.setLevel(logging.NOTSET)


def test_storage_settings_keep_the_index_and_shaping_ones_rebuild_it(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("宁海县第三水厂从2006年开始土地征用工作。\n", encoding="utf-8")
    root = ["--index-root", str(tmp_path / "idx")]
    assert run_qa("-q", "build", str(docs), "--compact", *root).returncode == 0
    manifest = tmp_path / "idx" / "docs" / "CURRENT"
    first = manifest.read_text()
    kept = run_qa("-v", "ask", "水厂哪一年开始征地?", "--docs", str(docs), *root)
    assert kept.returncode == 0 and "2006" in kept.stdout, kept.stderr
    assert "building the index" not in kept.stderr and manifest.read_text() == first
    config = json.loads((tmp_path / "idx" / "docs" / first / "manifest.json").read_text())["config"]
    assert config["compact"] is True and config["exact"] is False
    exact = run_qa("-v", "ask", "水厂哪一年开始征地?", "--docs", str(docs), *root,
                   env_extra={"QA_EXACT": "1"})
    assert "building the index" in exact.stderr and "the index settings changed" in exact.stderr
    version = manifest.read_text()
    config = json.loads((tmp_path / "idx" / "docs" / version / "manifest.json").read_text())["config"]
    assert config["exact"] is True and config["compact"] is True  # storage setting kept


def test_ask_bad_k_is_a_clear_error(built):
    folder, _ = built
    out = run_qa("ask", "水厂", "-k", "0", "--index", str(folder))
    assert out.returncode == 2 and "k must be between 1 and 100" in out.stderr
    assert "Traceback" not in out.stderr


def test_eval_json_on_a_small_benchmark(tmp_path):
    corpus = [
        {"id": "p1", "title": "Water", "text": "宁海县第三水厂从2006年开始土地征用工作。"},
        {"id": "p2", "title": "Bank", "text": "银行在大厅一角专门设置老年休息区。"},
        {"id": "p3", "title": "Trees", "text": "村民发展香榧产业，种植面积1.5万亩。"},
    ]
    queries = [{"id": "q1", "text": "水厂哪一年开始征地"}, {"id": "q2", "text": "Where do old people rest in the bank?"},
               {"id": "q3", "text": "香榧种了多少亩"}]
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in corpus))
    (tmp_path / "queries.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in queries))
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tp1\t1\nq2\tp2\t1\nq3\tp3\t1\n")
    out = run_qa("eval", "--corpus", str(tmp_path / "corpus.jsonl"), "--queries",
                 str(tmp_path / "queries.jsonl"), "--qrels", str(tmp_path / "qrels.tsv"), "--json",
                 "--index-root", str(tmp_path / "idx"))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == {"queries", "recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "seconds"}
    assert result["queries"] == 3 and result["recall@1"] == 1.0 and result["mrr@10"] == 1.0


def test_serve_listens_on_the_given_port(tmp_path):
    import shutil
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "seeds").mkdir()
    shutil.copy(ROOT / "seeds" / "000_b0e56cfeed1eb8fd.txt", tmp_path / "seeds")
    env = dict(os.environ, HF_HUB_OFFLINE="1", QA_DOCS=str(tmp_path / "seeds"),
               QA_UPLOADS=str(tmp_path / "uploads"), QA_INDEX_ROOT=str(tmp_path / "index"))
    process = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(240):
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                time.sleep(0.5)
        else:
            pytest.fail("qa serve did not answer in 120 s")
    finally:
        process.terminate()
        process.wait(timeout=30)

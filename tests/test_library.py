"""Uploads: add, refuse, remove, persist across restarts; a short load run with an upload."""

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.chat import ChatService
from qa.retriever import Retriever

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_b0e56cfeed1eb8fd.txt"


def service(base: Path, settings, log_questions: bool = False) -> ChatService:
    (base / "seeds").mkdir(exist_ok=True)
    shutil.copy(SEED, base / "seeds" / SEED.name)
    retriever = Retriever(base / "index", documents=[base / "seeds", base / "uploads"],
                          settings=settings, progress=False)
    (base / "uploads").mkdir(exist_ok=True)
    return ChatService(retriever, base / "uploads", log_questions)


def test_upload_remove_and_restart(tmp_path, settings, encoder):
    chat = service(tmp_path, settings)
    note = tmp_path / "灯塔.md"
    note.write_text("# 灯塔\n\n石浦港的灯塔建于1921年，高十八米。\n", encoding="utf-8")
    assert chat.upload([note]).startswith("✅")
    assert "灯塔\\.md (uploaded)" in chat.documents_markdown()
    assert "1921" in chat.reply("石浦港的灯塔是哪一年建的?", [], 1)

    restarted = service(tmp_path, settings)  # a new process over the same folders
    assert "灯塔.md" in " ".join(restarted.removable())
    before = restarted.retriever.index.folder
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    assert restarted.upload([bad]).startswith("⚠️ Refused")
    assert restarted.retriever.index.folder == before and not (tmp_path / "uploads" / "empty.txt").exists()

    source = restarted.removable()[0]
    assert restarted.remove(source).startswith("🗑️")
    assert restarted.removable() == []
    assert "1921" not in restarted.reply("石浦港的灯塔是哪一年建的?", [], 1)
    assert restarted.remove(restarted.library.documents()[0].source).startswith("⚠️")  # a seed


@pytest.mark.parametrize("log_questions", [False, True])
def test_each_question_is_logged_with_latency_and_hits(tmp_path, settings, encoder, caplog,
                                                       log_questions):
    chat = service(tmp_path, settings, log_questions)
    with caplog.at_level(logging.INFO, logger="qa.chat"):
        chat.reply("划船社区党委书记是谁?", [], 2)
        chat.reply("怎么做红烧肉?", [], 2)
    lines = [r.getMessage() for r in caplog.records if r.name == "qa.chat"]
    assert len(lines) == 2, lines
    assert re.search(r"answered in \d+ ms: [12] of 2 passages kept", lines[0]), lines
    assert re.search(r"answered in \d+ ms: 0 of 2 passages kept", lines[1]), lines
    assert ("党委书记" in lines[0]) == log_questions and ("红烧肉" in lines[1]) == log_questions


def test_too_many_files_are_refused(tmp_path, settings, encoder):
    chat = service(tmp_path, settings)
    files = []
    for n in range(11):
        path = tmp_path / f"n{n}.txt"
        path.write_text(f"第{n}份。", encoding="utf-8")
        files.append(path)
    assert "at most 10 files" in chat.upload(files)


def test_short_load_run_has_no_errors(encoder):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--clients", "8",
                          "--seconds", "8"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print("\nload:", result)
    assert result["requests"] > 0 and result["errors"] == 0, result

"""Folders in sync (qa.sync): changes applied incrementally, picked up by other readers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import qa.live_index
from qa.retriever import Retriever
from qa.sync import FolderWatch

ROOT = Path(__file__).resolve().parent.parent
WATER = "宁海县第三水厂从2006年开始土地征用工作，共征地140亩。"
BANK = "银行在大厅一角设置了老年休息区，配有老花镜和血压计。"
WELL = "村里的古井已有三百多年历史，井水至今清澈甘甜。"


def test_a_watched_folder_applies_edits_renames_and_deletions(settings, encoder, tmp_path,
                                                             monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "water.txt").write_text(WATER, encoding="utf-8")
    (docs / "bank.txt").write_text(BANK, encoding="utf-8")
    writer = Retriever(tmp_path / "index", documents=[docs], settings=settings, progress=False)
    watch = FolderWatch(writer)
    first = watch.sync()
    assert first.added == ("docs/bank.txt", "docs/water.txt")
    assert watch.sync() is None  # nothing changed: nothing read, nothing written
    live = writer.store.current()
    os.utime(docs / "bank.txt")  # touched, same bytes: no new version
    assert watch.sync() is None and writer.store.current() == live

    monkeypatch.setattr(qa.live_index, "RECHECK_SECONDS", 0.0)
    reader = Retriever(tmp_path / "index", settings=settings)  # another reader of the folder
    assert reader.retrieve("古井有多少年历史?", k=3) == []

    (docs / "well.txt").write_text(WELL, encoding="utf-8")
    (docs / "water.txt").write_text(WATER.replace("140亩", "150亩"), encoding="utf-8")
    changed = watch.sync()
    assert changed.added == ("docs/well.txt",) and changed.changed == ("docs/water.txt",)
    manifest = writer.index.manifest
    assert manifest["counts"]["embedded"] == 4  # two passages and their sentences, no more
    assert "三百多年" in reader.retrieve("古井有多少年历史?", k=1)[0].text

    (docs / "well.txt").rename(docs / "old-well.txt")
    (docs / "bank.txt").unlink()
    moved = watch.sync()
    assert moved.added == ("docs/old-well.txt",)
    assert moved.removed == ("docs/bank.txt", "docs/well.txt")
    # a rename embeds only the passage again (its title, the file name, is embedded with it)
    assert writer.index.manifest["counts"]["embedded"] == 1
    assert reader.retrieve("古井有多少年历史?", k=1)[0].source == "docs/old-well.txt"
    assert all(p.source != "docs/bank.txt"
               for p in reader.retrieve("老年休息区有什么?", k=3, possible=True))


def test_qa_sync_watch_picks_up_a_new_file(settings, encoder, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "water.txt").write_text(WATER, encoding="utf-8")
    index = tmp_path / "index"
    env = dict(os.environ, HF_HUB_OFFLINE="1", QA_INDEX_ROOT=str(settings.index_root))
    process = subprocess.Popen([sys.executable, "-m", "qa", "sync", str(docs), "--index",
                                str(index), "--watch", "--interval", "0.5"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "1 added" in process.stdout.readline()
        assert "watching" in process.stdout.readline()
        (docs / "well.txt").write_text(WELL, encoding="utf-8")
        line = process.stdout.readline()
        assert "1 added, 0 changed, 0 removed" in line, line
    finally:
        process.terminate()
        process.wait(timeout=30)
    reader = Retriever(index, settings=settings)
    assert reader.retrieve("古井有多少年历史?", k=1)[0].source == "docs/well.txt"

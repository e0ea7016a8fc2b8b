"""Uploads: add, refuse, remove, persist across restarts; a short load run with an upload."""

import concurrent.futures
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.chat import ChatService
from qa.errors import DocumentError
from qa.retriever import Retriever

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_b0e56cfeed1eb8fd.txt"


def service(base: Path, settings, log_questions: bool = False) -> ChatService:
    (base / "seeds").mkdir(exist_ok=True)
    shutil.copy(SEED, base / "seeds" / SEED.name)
    retriever = Retriever(base / "index", documents=[base / "seeds", base / "uploads"],
                          settings=settings, progress=False, allow_empty=True)
    (base / "uploads").mkdir(exist_ok=True)
    return ChatService(retriever, base / "uploads", log_questions)


def test_upload_remove_and_restart(tmp_path, settings, encoder):
    chat = service(tmp_path, settings)
    note = tmp_path / "灯塔.md"
    note.write_text("# 灯塔\n\n石浦港的灯塔建于1921年，高十八米。\n", encoding="utf-8")
    assert chat.upload([note]).startswith("✅")
    assert "灯塔\\.md | 1 | uploaded |" in chat.documents_markdown()
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
    assert re.search(r"answered in \d+ ms: [12] of 2 passages answer, \d possibly relevant",
                     lines[0]), lines
    assert re.search(r"answered in \d+ ms: 0 of 2 passages answer, 0 possibly relevant",
                     lines[1]), lines
    assert ("党委书记" in lines[0]) == log_questions and ("红烧肉" in lines[1]) == log_questions


def upload(chat, tmp_path, files: dict) -> str:
    paths = []
    for number, (name, text) in enumerate(files.items()):
        folder = tmp_path / f"client{number}"  # each file as its own client sent it
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        paths.append(folder / name)
    return chat.upload(paths).replace("\\", "")  # Markdown escapes dropped


def stored(chat) -> list[str]:
    return sorted(p.name for p in chat.library.uploads.iterdir() if not p.name.startswith("."))


def test_nothing_is_replaced_unasked(tmp_path, settings, encoder):
    chat = service(tmp_path, settings)
    first = upload(chat, tmp_path, {"same.txt": "灯塔建于1921年。"})
    assert first == "✅ Indexed: same.txt"
    reply = upload(chat, tmp_path, {"same.txt": "灯塔高十八米。"})
    assert "same.txt: another document has that name; stored as same (2).txt" in reply
    again = upload(chat, tmp_path, {"copy.txt": "灯塔建于1921年。"})
    assert "copy.txt: the same content is already in the library as " in again
    assert "same.txt" in again and "Indexed" not in again
    accents = upload(chat, tmp_path, {"caf\u00e9.txt": "咖啡馆一。", "cafe\u0301.txt": "咖啡馆二。",
                                      "zero\u200bwidth.txt": "零宽一。"})
    upload(chat, tmp_path, {"zerowidth.txt": "零宽二。"})
    assert "café (2).txt" in accents
    long_name = "报告" * 100 + ".txt.md"  # 606 bytes: only a client can send such a name
    assert chat.library.add([(long_name, "# 长名\n\n很长的名字的文件。".encode("utf-8"))]).added
    names = stored(chat)
    assert {"café.txt", "café (2).txt", "same.txt", "same (2).txt", "zerowidth.txt",
            "zerowidth (2).txt"} <= set(names)
    cut = next(n for n in names if n.startswith("报告"))
    assert cut.endswith(".md") and len(cut) <= 150 and len(cut.encode("utf-8")) <= 200
    assert "1921" in chat.reply("灯塔哪一年建的?", [], 1) and "十八米" in chat.reply("灯塔有多高?", [], 1)


def test_one_name_twice_in_a_batch_and_at_once_keeps_both(tmp_path, settings, encoder):
    chat = service(tmp_path, settings)
    folder_a, folder_b = tmp_path / "a", tmp_path / "b"
    folder_a.mkdir(), folder_b.mkdir()
    (folder_a / "dup.txt").write_text("第一份。", encoding="utf-8")
    (folder_b / "dup.txt").write_text("第二份。", encoding="utf-8")
    both = chat.upload([folder_a / "dup.txt", folder_b / "dup.txt"]).replace("\\", "")
    assert "Indexed: dup.txt, dup (2).txt" in both
    (folder_a / "race.txt").write_text("甲方的版本。", encoding="utf-8")
    (folder_b / "race.txt").write_text("乙方的版本。", encoding="utf-8")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(chat.upload, [[folder_a / "race.txt"], [folder_b / "race.txt"]]))
    assert all(r.startswith("✅") for r in replies), replies
    texts = {(chat.library.uploads / n).read_text(encoding="utf-8") for n in stored(chat)
             if n.startswith("race")}
    assert texts == {"甲方的版本。", "乙方的版本。"}


def test_only_new_uploads_are_read(tmp_path, settings, encoder, caplog):
    chat = service(tmp_path, settings)
    upload(chat, tmp_path, {"a.txt": "第一份文件。", "b.txt": "第二份文件。"})
    with caplog.at_level(logging.INFO, logger="qa.sources"):
        upload(chat, tmp_path, {"c.txt": "第三份文件。"})
    said = [r.getMessage() for r in caplog.records if r.name == "qa.sources"]
    assert "read 0 of 4 documents (the others are unchanged since the last build)" in said, said


def test_an_interrupted_upload_is_finished_or_reported_at_start(tmp_path, settings, encoder):
    chat = service(tmp_path, settings)
    upload(chat, tmp_path, {"kept.txt": "保留的文件。"})
    uploads = chat.library.uploads
    entries = chat.library.journal.read()
    # what a crash leaves: the file written but not indexed, and one never written
    (uploads / "late.txt").write_text("石浦港的灯塔建于1921年。", encoding="utf-8")
    digest = hashlib.sha256((uploads / "late.txt").read_bytes()).hexdigest()
    entries["late.txt"] = {"original": "late.txt", "sha256": digest, "state": "pending", "time": ""}
    entries["lost.txt"] = {"original": "lost.txt", "sha256": "0" * 64, "state": "pending", "time": ""}
    chat.library.journal.write(entries)
    (uploads / ".upload-abc").write_bytes(b"half")

    restarted = service(tmp_path, settings)
    restarted.warm_up()
    page = restarted.documents_markdown().replace("\\", "")
    assert "late.txt: its upload was interrupted by a restart; it is now indexed" in page
    assert "lost.txt: its upload was interrupted before the file was saved" in page
    assert "1921" in restarted.reply("灯塔哪一年建的?", [], 1)
    assert {e["state"] for e in restarted.library.journal.read().values()} == {"indexed"}
    assert not (uploads / ".upload-abc").exists() and "late.txt" in " ".join(restarted.removable())


def test_the_reader_runs_out_of_time_or_memory_and_says_so(settings):
    from qa.indexer import IndexConfig
    from qa.parse_worker import parse_files

    files = [("uploads/a.txt", "宁海县第三水厂。".encode("utf-8"))]
    assert parse_files(files, IndexConfig())["uploads/a.txt"].records[0].text == "宁海县第三水厂。"
    with pytest.raises(DocumentError, match="took longer than"):
        parse_files(files, IndexConfig(), seconds=0.05)
    with pytest.raises(DocumentError, match="memory"):
        parse_files(files, IndexConfig(), memory=64 * 2**20)


def test_a_pdf_gets_time_for_ocr_by_its_size():
    from qa.limits import OCR_SECONDS_PER_MB, PARSE_SECONDS
    from qa.parse_worker import time_budget

    assert time_budget([("uploads/a.txt", b"x" * 2**20)]) == PARSE_SECONDS
    scans = [("uploads/scan.PDF", b"x" * 5 * 2**20), ("uploads/b.docx", b"x" * 2**20)]
    assert time_budget(scans) == PARSE_SECONDS + 5 * OCR_SECONDS_PER_MB


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
                          "--seconds", "8", "--no-hostile"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print("\nload:", result)
    assert result["requests"] > 0 and result["errors"] == 0, result
    assert result["uploads"]["upload.md"]["reply"].startswith("✅ Indexed"), result


def test_the_documents_panel_names_skipped_files_and_duplicates(tmp_path, settings, encoder):
    (tmp_path / "seeds").mkdir()
    shutil.copy(SEED, tmp_path / "seeds" / "copy.txt")  # the seed's bytes under a second name
    (tmp_path / "seeds" / "scan.pdf").write_bytes(b"%PDF-1.4 not really")
    chat = service(tmp_path, settings)
    page = chat.documents_markdown().replace("\\", "")
    assert f"seeds/copy.txt | 0 | the same content as seeds/{SEED.name}, indexed once" in page
    assert "seeds/scan.pdf | 0 | ⚠️ not indexed: seeds/scan.pdf: cannot read this PDF" in page
    assert "俞复玲" in chat.reply("划船社区党委书记是谁?", [], 1)

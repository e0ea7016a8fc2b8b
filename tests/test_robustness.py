"""Bad questions, hostile file names, crashes mid-write and concurrent builds lose nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.errors import DocumentError
from qa.upload_names import safe_name
from qa.store import IndexStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("question", [
    "划船\x00社区\x07党委书记是谁?", "lone \ud800 surrogate 书记", "😀😀😀", "？？？!!!...", "。，、",
    "書記是誰 who is the 书记?", "<script>alert(1)</script>", "a" * 100_000,
])
def test_odd_questions_get_an_answer_or_not_found(seed_retriever, question):
    result = seed_retriever.retrieve(question, k=3)
    assert isinstance(result, list) and len(result) <= 3


@pytest.mark.parametrize("k", [None, "five", 3.0, [], -5])
def test_k_that_is_not_a_small_integer(seed_retriever, k):
    with pytest.raises(ValueError):
        seed_retriever.retrieve("书记是谁?", k=k)


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd.txt", "passwd.txt"), ("/abs/path/文件.md", "文件.md"),
    ("..\\\\windows\\\\evil.txt", "evil.txt"), (".hidden.txt", "hidden.txt"), ("笔记 1.txt", "笔记 1.txt"),
])
def test_upload_names_cannot_escape(name, expected):
    assert safe_name(name) == expected


@pytest.mark.parametrize("name", ["..", "/", "", "...", "a/"])
def test_unusable_names_are_refused(name):
    with pytest.raises(DocumentError):
        safe_name(name)


def _build(docs: Path, index: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qa", "build", str(docs), "--index", str(index)],
                            cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _corpus(folder: Path, version: int) -> None:
    folder.mkdir(exist_ok=True)
    for n in range(6):
        (folder / f"doc{n}.txt").write_text(
            f"# 文档{n}\n\n" + "".join(f"第{version}版第{n}篇的第{i}句话讲的是编号{i * n}的事情。"
                                      for i in range(12)), encoding="utf-8")


# A build killed at each phase of writing a version (os._exit in a child process, at a point
# chosen by replacing the store's own step there): the live index is always one whole version.
CRASH_AT = {
    "embedding, sentence vectors half written": (
        "import qa.build_vectors as steps\nsteps.CHUNK = 2\nembed = steps.embed_chunk\n"
        "calls = []\nsteps.embed_chunk = lambda *a, **k: die() if calls.append(1) or "
        "len(calls) == 3 else embed(*a, **k)"),
    "data files written, no manifest": "die_writing('manifest.json')",
    "version written and synced, not in place": (
        "synced = store.fsync_tree\nstore.fsync_tree = lambda folder: (synced(folder), die())"),
    "version in place, CURRENT not switched": "die_writing('CURRENT')",
    "CURRENT switched, old version not removed": "store.IndexStore._remove_old = die",
}
CHILD = """
import os, sys
from pathlib import Path
import qa.store as store
from qa.retriever import Retriever

def die(*args, **kwargs):
    os._exit(86)


def die_writing(name):
    publish = store.publish_file
    store.publish_file = lambda target, *a, **k: die() if target.name == name else \
        publish(target, *a, **k)

{inject}
Retriever(Path(sys.argv[1]), documents=[Path(sys.argv[2])], progress=False).rebuild()
"""


@pytest.mark.parametrize("phase", list(CRASH_AT))
def test_a_build_killed_at_each_phase_leaves_one_whole_version(tmp_path, encoder, phase):
    docs, index = tmp_path / "docs", tmp_path / "index"
    _corpus(docs, 0)
    first = _build(docs, index)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    _corpus(docs, 1)
    child = subprocess.run([sys.executable, "-c", CHILD.format(inject=CRASH_AT[phase]),
                            str(index), str(docs)], cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=300)
    assert child.returncode == 86, child.stderr[-2000:]
    loaded = IndexStore(index).load()  # raises if anything is half-written
    versions = {r.text[:3] for r in loaded.records}
    switched = phase.startswith("CURRENT switched")
    assert versions == ({"第1版"} if switched else {"第0版"})
    assert {r.source.split("/")[-1] for r in loaded.records} == {f"doc{n}.txt" for n in range(6)}
    finished = _build(docs, index)
    assert finished.wait(timeout=300) == 0
    assert all("第1版" in r.text for r in IndexStore(index).load().records)
    assert [p.name for p in index.iterdir() if p.name.startswith((".tmp-", "v-"))] == \
        [IndexStore(index).current().name]  # what the crash left behind is gone


def test_two_processes_building_at_once(tmp_path, encoder):
    docs, index = tmp_path / "docs", tmp_path / "index"
    _corpus(docs, 5)
    children = [_build(docs, index), _build(docs, index)]
    assert [c.wait(timeout=400) for c in children] == [0, 0]
    loaded = IndexStore(index).load()
    assert len(loaded.records) >= 6 and all("第5版" in r.text for r in loaded.records)

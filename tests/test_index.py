"""The index folder: round trip, staleness, incremental rebuild, damage."""

import json
import logging

import numpy as np
import pytest

from qa.errors import IndexCorruptError, IndexMismatchError
from qa.retriever import Retriever
from qa.store import IndexStore

DOC_A = "# 水厂\n\n宁海县第三水厂从2006年开始土地征用工作。\n\n黄坛镇政府投资约2000万元进行一户一表改造。\n"
DOC_B = "# Library\n\nThe city library opens at nine every morning.\n\nChildren borrow picture books there.\n"


def test_round_trip_keeps_passages_vectors_and_manifest(make_retriever, encoder):
    retriever, _ = make_retriever({"a.md": DOC_A, "b.md": DOC_B})
    built = retriever.index
    loaded = IndexStore(retriever.store.folder).load()
    assert [r.to_json() for r in loaded.records] == [r.to_json() for r in built.records]
    assert np.allclose(loaded.dense.vectors(), built.dense.vectors())
    manifest = loaded.manifest
    assert manifest["model"]["dimension"] == encoder.dimension == 384
    assert manifest["model"]["query_prompt"] == "query: "
    assert manifest["counts"] == {"passages": 4, "sentences": 4, "embedded": 8}
    assert {"faiss-cpu", "sentence-transformers", "bm25s"} <= set(manifest["versions"])
    assert len(manifest["corpus_hash"]) == 64
    assert {r.source.split("/")[-1] for r in loaded.records} == {"a.md", "b.md"}
    assert all(r.title in ("水厂", "Library") for r in loaded.records)


def test_edit_rebuilds_and_embeds_only_changed_passages(make_retriever):
    retriever, docs = make_retriever({"a.md": DOC_A, "b.md": DOC_B})
    assert retriever.index.manifest["counts"]["embedded"] == 8
    (docs / "b.md").write_text(DOC_B.replace("nine", "ten"), encoding="utf-8")
    fresh, _ = make_retriever({}, name="docs")  # a new process would see the stale index
    manifest = fresh.index.manifest
    assert manifest["counts"] == {"passages": 4, "sentences": 4, "embedded": 2}
    assert any("ten every morning" in r.text for r in fresh.index.records)
    assert fresh.retrieve("When does the library open?", k=1)[0].text.startswith("The city library")


def test_unchanged_documents_are_not_rebuilt(make_retriever, caplog):
    retriever, _ = make_retriever({"a.md": DOC_A})
    first = retriever.index.folder
    again, docs = make_retriever({}, name="docs")
    with caplog.at_level(logging.INFO, logger="qa"):
        assert again.index.folder == first
    assert not [r for r in caplog.records if "building the index" in r.getMessage()]
    (docs / "b.md").write_text("# 新文档\n\n灯塔建于1921年。\n", encoding="utf-8")
    again.reload()
    with caplog.at_level(logging.INFO, logger="qa"):
        assert again.index.folder != first
    assert any("building the index" in r.getMessage() and "the documents changed" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "pointer"])
def test_damaged_index_is_detected_and_rebuilt(make_retriever, damage, caplog):
    retriever, _ = make_retriever({"a.md": DOC_A})
    version = retriever.index.folder
    target = version / "dense.faiss"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "flip":
        data = bytearray((version / "passages.jsonl").read_bytes())
        data[10] ^= 1
        (version / "passages.jsonl").write_bytes(bytes(data))
    elif damage == "delete":
        target.unlink()
    else:
        (retriever.store.folder / "CURRENT").write_text("../../etc")
    with pytest.raises(IndexCorruptError, match="qa build"):
        IndexStore(retriever.store.folder).load()
    rebuilt, _ = make_retriever({}, name="docs")
    with caplog.at_level(logging.INFO, logger="qa"):
        top = rebuilt.retrieve("第三水厂哪一年开始征地?", k=1, possible=True)
        assert top[0].text.startswith("宁海县第三水厂")
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("qa")]
    assert any(level == "WARNING" and "rebuilt from the documents" in text and "qa build" in text
               for level, text in said), said
    assert any("building the index" in text for _, text in said), said


def test_index_without_documents_says_what_to_run(settings, tmp_path):
    with pytest.raises(IndexMismatchError, match="qa build"):
        Retriever(tmp_path / "nothing", settings=settings).index


@pytest.mark.parametrize("field, value", [("name", "someone/else"), ("dimension", 768)])
def test_index_from_another_model_is_refused(make_retriever, settings, field, value):
    retriever, _ = make_retriever({"a.md": DOC_A})
    folder = retriever.index.folder
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"][field] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="rebuild it with `qa build`"):
        Retriever(retriever.store.folder, settings=settings).index


def test_passages_and_vectors_out_of_step_are_detected(make_retriever):
    import hashlib

    retriever, _ = make_retriever({"a.md": DOC_A})
    version = retriever.index.folder
    lines = (version / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    (version / "passages.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"]["passages.jsonl"] = hashlib.sha256(
        (version / "passages.jsonl").read_bytes()).hexdigest()
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="out of step"):
        IndexStore(retriever.store.folder).load()

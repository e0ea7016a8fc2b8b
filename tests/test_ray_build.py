"""``qa build --ray``: the same index as a local build, made on a real local Ray runtime."""

import logging
import shutil
from pathlib import Path

import pytest

import qa.build_vectors as build_vectors
from qa.errors import QAError
from qa.passage import Record
from qa.retriever import Retriever
from qa.store import IndexStore

from indexes import assert_same_index

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_b0e56cfeed1eb8fd.txt"


@pytest.fixture(scope="module")
def cluster():
    """A local Ray runtime with two CPUs (ray.init(num_cpus=2)), started once for these tests
    by the build's own code, though RAY_ADDRESS names a cluster that is not there."""
    import ray
    from qa.ray_build import RayCluster

    cluster = RayCluster("local", workers=2, cpus=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_ADDRESS", "127.0.0.1:9")
        cluster.connect()
    assert ray.cluster_resources()["CPU"] == 2
    yield cluster
    ray.shutdown()


@pytest.fixture
def library(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    (docs / "notes.md").write_text("# 水厂\n\n宁海县第三水厂从2006年开始土地征用工作。\n\n"
                                   "The third water plant started buying land in 2006.\n",
                                   encoding="utf-8")
    (docs / "copy.md").write_bytes((docs / "notes.md").read_bytes())  # indexed once
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7 not really")  # skipped, with the reason
    (docs / "big5.txt").write_bytes("臺灣的水廠在2006年開始徵地，佔地一百二十畝。".encode("big5"))
    return docs


def _compare(local, remote) -> None:
    assert [r.to_json() for r in remote.records] == [r.to_json() for r in local.records]
    assert_same_index(remote, local, min_cosine=0.99999)
    for field in ("documents", "skipped", "duplicates", "counts"):
        assert remote.manifest[field] == local.manifest[field], field


def test_a_ray_build_is_the_local_build(tmp_path, settings, encoder, library, cluster,
                                        monkeypatch, caplog):
    monkeypatch.setattr(build_vectors, "CHUNK", 8)  # several chunks, so both actors work
    local = Retriever(tmp_path / "local", documents=[library], settings=settings,
                      progress=False)
    remote = Retriever(tmp_path / "ray", documents=[library], settings=settings,
                       progress=False, ray=cluster)
    built = local.rebuild()
    with caplog.at_level(logging.INFO, logger="qa.ray_build"):
        made = remote.rebuild()
    assert "read 4 of 5 files on Ray" in caplog.messages  # broken.pdf: read here, skipped
    assert len(made.records) > 3 * 8 and made.manifest["built_on"] == "ray"
    assert set(made.manifest["skipped"]) == {"docs/broken.pdf"}
    assert made.manifest["duplicates"] == {"docs/notes.md": "docs/copy.md"}
    _compare(built, made)
    for question in ("划船社区党委书记是谁?", "When did the third water plant buy land?"):
        ours = [p.id for p in remote.retrieve(question, k=5, possible=True)]
        assert ours == [p.id for p in local.retrieve(question, k=5, possible=True)]
        assert ours
    # an edit: the next Ray build reads only the changed file and gives the local result
    (library / "notes.md").write_text("# 水厂\n\n第三水厂占地120亩。\n", encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="qa.ray_build"):
        _compare(local.rebuild(), remote.rebuild())
    assert "read 1 of 2 files on Ray" in caplog.messages  # notes.md; broken.pdf again fails


def test_a_failed_ray_build_keeps_the_last_version(tmp_path, settings, encoder, library,
                                                   cluster, monkeypatch):
    monkeypatch.setattr(build_vectors, "CHUNK", 8)
    remote = Retriever(tmp_path / "ray", documents=[library], settings=settings,
                       progress=False, ray=cluster)
    first = remote.rebuild()
    (library / "more.md").write_text("# 新文件\n\n新的内容。\n", encoding="utf-8")
    chunks = []

    def fail_on_the_third_chunk(meter, passages):
        chunks.append(passages)
        if len(chunks) == 3:
            raise RuntimeError("the driver died")

    monkeypatch.setattr(build_vectors.BuildProgress, "reach", fail_on_the_third_chunk)
    with pytest.raises(RuntimeError, match="the driver died"):
        remote.rebuild()
    live = IndexStore(tmp_path / "ray").load()
    assert live.folder == first.folder and len(live.records) == len(first.records)
    assert [p.name for p in (tmp_path / "ray").iterdir() if p.name.startswith((".tmp-", "v-"))] \
        == [first.folder.name]


def test_a_failure_on_ray_is_an_error_and_keeps_the_last_version(tmp_path, settings, encoder,
                                                                  library, cluster, monkeypatch):
    remote = Retriever(tmp_path / "ray", documents=[library], settings=settings,
                       progress=False, ray=cluster)
    first = remote.rebuild()
    (library / "more.md").write_text("# 新文件\n\n新的内容。\n", encoding="utf-8")
    shipped = Record.to_json  # passages the actors cannot take: they fail on Ray's side
    monkeypatch.setattr(Record, "to_json", lambda record: dict(shipped(record), bogus=1))
    with pytest.raises(QAError, match="the build on Ray failed: .*bogus"):
        remote.rebuild()
    monkeypatch.undo()
    assert IndexStore(tmp_path / "ray").load().folder == first.folder
    assert not list((tmp_path / "ray").glob(".tmp-*"))

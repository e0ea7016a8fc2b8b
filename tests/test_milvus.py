"""QA_BACKEND=milvus: the index served from Milvus (Milvus Lite, the embedded edition, through
the same pymilvus code that talks to a server) gives the FAISS backend's answers."""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import qa.milvus as milvus
import qa.milvus_store as store
from qa.milvus_client import client as milvus_client
from qa.cli import main
from qa.config import Settings
from qa.errors import DocumentError, IndexMismatchError, QAError
from qa.retriever import Retriever

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_b0e56cfeed1eb8fd.txt"
QUESTIONS = ["第三水厂征地多少亩", "How much land was acquired for the third water plant?",
             "宁海县的自来水供应", "When did the project start?", "今天天气怎么样",
             "水厂", "Big5 水廠 徵地"]
NOTES = ("# 水厂\n\n宁海县第三水厂从2006年开始土地征用工作。\n\n"
         "The third water plant started buying land in 2006.\n")


def _answers(retriever, question, history=None):
    return [(p.id, p.score, p.tier, p.answer_start, p.answer_end, p.also_in)
            for p in retriever.retrieve(question, k=5, history=history, possible=True)]


def _same_answers(local, remote):
    for question in QUESTIONS:
        assert _answers(remote, question) == _answers(local, question), question
        asked_local, asked_remote = local.prepare(question), remote.prepare(question)
        ranked = [local.index.records[r.row].id for r in local.rank(asked_local, 10)]
        assert [remote.index.records[r.row].id for r in remote.rank(asked_remote, 10)] == ranked
    history = ["宁海县第三水厂什么时候开始征地？"]
    assert _answers(remote, "占地多少？", history) == _answers(local, "占地多少？", history)


@pytest.fixture
def library(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    (docs / "notes.md").write_text(NOTES, encoding="utf-8")
    (docs / "big5.txt").write_bytes("臺灣的水廠在2006年開始徵地，佔地一百二十畝。".encode("big5"))
    return docs


def _pair(settings, tmp_path, docs):
    """A FAISS retriever and a Milvus one (Milvus Lite in ``tmp_path``) over ``docs``."""
    local = Retriever(tmp_path / "index", documents=[docs], settings=settings, progress=False)
    served = replace(settings, backend="milvus", milvus_uri=str(tmp_path / "milvus.db"))
    remote = Retriever(tmp_path / "index", documents=[docs], settings=served, progress=False)
    return local, remote, served


def test_milvus_answers_as_faiss_and_follows_changes(tmp_path, settings, encoder, library):
    local, remote, served = _pair(settings, tmp_path, library)
    local.index
    assert isinstance(remote.index, milvus.MilvusIndex)
    assert remote.index.folder.name == local.index.folder.name  # the version published
    _same_answers(local, remote)
    # a document added and one removed: only their passages go to Milvus
    (library / "more.md").write_text("# 泵站\n\n新泵站每天供水五万吨，2008年投入使用。\n",
                                     encoding="utf-8")
    (library / "notes.md").unlink()
    notes = sum(r.source.endswith("notes.md") for r in local.index.records)
    local.rebuild()
    client = milvus_client(served.milvus_address)
    base = store.collection_base(tmp_path / "index")
    before = {r["key"] for r in store.Collections(client, base).scan(f"{base}_passages",
                                                                      ["key"])}
    counts = store.publish(local.index, client, base, local.config)
    kept = len(before) - counts["deleted"]
    assert counts["sent"] == 1 and counts["deleted"] == notes > 0 and counts["kept"] == kept
    assert remote.refresh() is not None
    assert remote.index.folder.name == local.index.folder.name
    _same_answers(local, remote)
    assert _answers(remote, "泵站每天供水多少")[0][0].endswith("more.md#0")
    # the keyword statistics follow the corpus exactly: every score equals bm25s's
    query = remote.index.keyword.query(["水厂", "征地", "2006", "water"])
    rows = np.arange(len(remote.index.records))
    exact = local.index.keyword.scores(["水厂", "征地", "2006", "water"])
    by_id = {r.id: i for i, r in enumerate(local.index.records)}
    order = [by_id[r.id] for r in remote.index.records]
    assert np.allclose(query.at(rows), exact[order], rtol=1e-5, atol=1e-6)
    top = set(remote.index.records[r].id for r in query.top(3))
    assert top == {local.index.records[r].id for r in local.index.keyword.query(
        ["水厂", "征地", "2006", "water"]).top(3)}
    weights = {"水厂": 1.5, "water": 1.3333}  # a question's repeated tokens weigh more
    weighted = remote.index.keyword.query(["水厂", "征地", "2006", "water"], weights=weights)
    assert np.allclose(weighted.at(rows), local.index.keyword.scores(
        ["水厂", "征地", "2006", "water"], weights)[order], rtol=1e-5, atol=1e-6)
    assert remote.index.keyword.upper_bound(["水厂", "water"], weights) == pytest.approx(
        local.index.keyword.upper_bound(["水厂", "water"], weights))
    sentences = store.Collections(client, base).scan(f"{base}_sentences", ["id"])
    assert len(sentences) == len(local.index.sentence_spans)  # none doubled, none left over


def test_a_process_without_the_folder_serves_from_milvus(tmp_path, settings, encoder, library):
    local, remote, served = _pair(settings, tmp_path, library)
    published = remote.index.folder.name  # builds the folder and publishes it
    shutil.rmtree(tmp_path / "index")  # a chat process elsewhere: Milvus only
    alone = Retriever(tmp_path / "index", settings=served, progress=False)
    _same_answers(local, alone)
    with pytest.raises(IndexMismatchError, match="Milvus holds no index"):
        Retriever(tmp_path / "other", settings=served, progress=False).index
    # a replica (QA_MILVUS_PUBLISH=0) with an empty documents folder: it must not publish
    # that emptiness over the index, nor build anything
    empty = tmp_path / "empty"
    empty.mkdir()
    replica = Retriever(tmp_path / "replica" / "index", documents=[empty], allow_empty=True,
                        settings=replace(served, milvus_publish=False), progress=False)
    _same_answers(local, replica)
    assert replica.refresh() is None and not (tmp_path / "replica").exists()
    with pytest.raises(DocumentError, match="only answers from Milvus"):
        replica.rebuild()
    assert store.live_version(milvus_client(served.milvus_address),
                               store.collection_base(tmp_path / "index")) == published


def test_qa_sync_publishes_a_folder_milvus_lacks(tmp_path, settings, encoder, library):
    local, remote, served = _pair(settings, tmp_path, library)
    local.index  # built with the FAISS backend: Milvus holds nothing yet
    syncing = Retriever(tmp_path / "index", documents=[library], settings=served,
                        progress=False)
    published = syncing.refresh()  # what `qa sync` and the chat's folder watch call
    assert isinstance(published, milvus.MilvusIndex)
    assert published.folder.name == local.index.folder.name
    assert syncing.refresh() is None  # up to date: nothing written
    _same_answers(local, syncing)


def test_a_publish_stopped_half_way_keeps_the_live_version(tmp_path, settings, encoder,
                                                           library, monkeypatch):
    local, remote, served = _pair(settings, tmp_path, library)
    remote.index
    live = remote.index.folder.name
    before = _answers(remote, QUESTIONS[0])
    (library / "more.md").write_text("# 泵站\n\n新泵站每天供水五万吨。\n", encoding="utf-8")
    (library / "extra.md").write_text("# 管网\n\n" + "新建输水管网三十公里。" * 60,
                                      encoding="utf-8")
    client = milvus_client(served.milvus_address)
    base = store.collection_base(tmp_path / "index")
    real_insert, sent = client.insert, []

    def insert(collection, rows, *args, **kwargs):
        if collection.endswith("_passages") and sent:
            raise ConnectionError("Milvus went away")
        sent.append(collection) if collection.endswith("_passages") else None
        return real_insert(collection, rows, *args, **kwargs)

    monkeypatch.setattr(store, "BATCH", 1)  # one passage per insert: it stops after one
    monkeypatch.setattr(client, "insert", insert)
    with pytest.raises(ConnectionError):
        remote.rebuild()
    assert sent and store.live_version(client, base) == live  # the old generation is live
    reader = Retriever(tmp_path / "elsewhere" / "index", settings=served, progress=False)
    assert reader.index.folder.name == live and _answers(reader, QUESTIONS[0]) == before
    assert len(reader.index.records) == len(remote.index.records)  # none of the half-sent
    monkeypatch.undo()
    again = Retriever(tmp_path / "index", documents=[library], settings=served, progress=False)
    assert again.index.folder.name == local.index.folder.name != live
    _same_answers(local, again)
    sentences = store.Collections(client, base).scan(f"{base}_sentences", ["id"])
    assert len(sentences) == len(local.index.sentence_spans)


def test_qa_export_to_milvus(tmp_path, settings, encoder, library, capsys):
    local = Retriever(tmp_path / "index", documents=[library], settings=settings,
                      progress=False)
    local.index
    uri = str(tmp_path / "exported.db")
    args = ["export", "--to", "milvus", "--index", str(tmp_path / "index"), "--uri", uri, "-q"]
    assert main(args) == 0
    n = len(local.index.records)
    assert f"{n} passages sent, 0 deleted" in capsys.readouterr().out
    assert main(args) == 0
    assert f"0 passages sent, 0 deleted, {n} kept" in capsys.readouterr().out
    assert main(args + ["--full"]) == 0
    assert f"{n} passages sent" in capsys.readouterr().out
    served = replace(settings, backend="milvus", milvus_uri=uri)
    _same_answers(local, Retriever(tmp_path / "index", settings=served, progress=False))
    assert main(["export", "--to", "milvus", "--index", str(tmp_path / "none"), "-q"]) == 2
    assert "holds no index" in capsys.readouterr().err


def test_backend_settings():
    assert Settings.from_env({}).backend == "faiss"
    chosen = Settings.from_env({"QA_BACKEND": "Milvus", "QA_MILVUS_URI": "http://m:19530",
                                "QA_MILVUS_TOKEN": "root:Milvus"})
    assert (chosen.backend, chosen.milvus_address, chosen.milvus_token) == \
        ("milvus", "http://m:19530", "root:Milvus")
    assert Settings.from_env({"QA_INDEX_ROOT": "/x"}).milvus_address == "/x/milvus.db"
    assert Settings.from_env({}).milvus_publish
    assert not Settings.from_env({"QA_MILVUS_PUBLISH": "0"}).milvus_publish
    with pytest.raises(QAError, match="QA_BACKEND"):
        Settings.from_env({"QA_BACKEND": "elastic"})


def _seen(passages: list[dict]) -> list[tuple]:
    """What two servers over copies of the seed must agree on (file name, not folder)."""
    return [(p["id"].rsplit("/", 1)[-1], p["score"], p["tier"], p["answer"]) for p in passages]


def test_the_chat_server_answers_from_milvus_and_uploads_reach_it(tmp_path_factory,
                                                                  seed_retriever):
    """The real app with QA_BACKEND=milvus (Milvus Lite in <index root>/milvus.db) over the
    seed answers as the FAISS backend over the seed; an upload and its removal go to the
    collection."""
    import httpx
    from conftest import start_app

    runs = start_app(tmp_path_factory.mktemp("milvus-app"), QA_BACKEND="milvus")
    app = next(runs)
    try:
        with httpx.Client(base_url=app["url"], timeout=120) as remote:
            for question in QUESTIONS[:4]:
                body = {"question": question, "k": 5, "possible": True}
                mine = remote.post("/api/retrieve", json=body)
                assert mine.status_code == 200
                faiss = [{"id": p.id, "score": p.score, "tier": p.tier,
                          "answer": p.answer}
                         for p in seed_retriever.retrieve(question, k=5, possible=True)]
                assert _seen(mine.json()["passages"]) == _seen(faiss), question
            added = remote.post("/api/documents", files=[("files", (
                "pump.md", "# 泵站\n\n新泵站每天供水五万吨，2008年投入使用。\n".encode(),
                "text/plain"))])
            assert added.status_code == 201, added.text
            found = remote.post("/api/retrieve", json={"question": "新泵站每天供水多少吨",
                                                       "k": 1, "possible": True}).json()
            assert found["passages"][0]["source"].endswith("pump.md")
            source = found["passages"][0]["source"]
            assert remote.delete(f"/api/documents/{source}").status_code == 200
            again = remote.post("/api/retrieve", json={"question": "新泵站每天供水多少吨",
                                                       "k": 5, "possible": True}).json()
            assert not any(p["source"].endswith("pump.md") for p in again["passages"])
        db = app["base"] / "index" / "milvus.db"
        assert db.is_dir() and "GOAWAY" not in (app["base"] / "app.log").read_text()
    finally:
        next(runs, None)

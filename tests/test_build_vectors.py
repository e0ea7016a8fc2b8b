"""The build pipeline (qa/build_vectors.py): chunks, copies of known vectors, progress."""

import logging

import numpy as np

import qa.build_vectors as build_vectors
from qa.build_vectors import BuildProgress, chunk_texts
from qa.documents import Document
from qa.indexer import IndexConfig, document_records, write_index
from qa.store import IndexStore

from indexes import assert_same_index

SAME = "每个版本都有这句相同的话。"


def _records(config: IndexConfig) -> list:
    records = []
    for n in range(7):
        text = f"# 第{n}篇\n\n" + "".join(f"第{n}篇第{i}句讲的是编号{i * n + 7}的水厂。" for i in range(4))
        text += "\n\n" + SAME + f"这是第{n}篇的结尾。\n"
        records += document_records(Document(f"doc{n}.md", text, "utf-8"), f"doc{n}.md", config)
    return records


def test_small_chunks_build_the_same_index(tmp_path, encoder, monkeypatch):
    config = IndexConfig()
    records = _records(config)
    whole = write_index(IndexStore(tmp_path / "whole"), records, encoder, config, "x",
                        progress=False)
    monkeypatch.setattr(build_vectors, "CHUNK", 3)  # fourteen passages: five pipeline steps
    chunked = write_index(IndexStore(tmp_path / "chunked"), records, encoder, config, "x",
                          progress=False)
    assert len(records) >= 7
    assert chunked.manifest["counts"]["passages"] == whole.manifest["counts"]["passages"]
    # each distinct text embedded once: SAME's sentence, in every document, once in all
    spans = np.asarray(chunked.sentence_spans)
    assert sum(records[o].text[a:b] == SAME for o, a, b in spans.tolist()) == 7  # one a document
    per_chunk = [len(set(chunk_texts(records[i:i + 3], config))) for i in range(0, len(records), 3)]
    distinct = len(set(chunk_texts(records, config)))
    assert sum(per_chunk) > distinct  # so chunks do share texts
    assert chunked.manifest["counts"]["embedded"] == whole.manifest["counts"]["embedded"] == distinct
    assert_same_index(chunked, whole, min_cosine=0.99999)
    fresh = encoder.encode_passages([SAME])[0]
    same_rows = [i for i, (o, a, b) in enumerate(spans.tolist()) if records[o].text[a:b] == SAME]
    copies = np.asarray(chunked.sentences)[same_rows]
    assert np.array_equal(copies, np.repeat(copies[:1], len(copies), axis=0))  # copied
    assert float(copies[0] @ fresh) > 0.99999
    assert not [p for p in (tmp_path / "chunked").iterdir() if p.name.startswith(".tmp-")]


def test_progress_logs_rate_and_time_left(caplog):
    progress = BuildProgress(total=1_000, bar=False, every=0.0)
    with caplog.at_level(logging.INFO, logger="qa.build_vectors"):
        progress.advance(250)
        progress.advance(10_000)  # never past the total
    first, last = caplog.messages
    assert first.startswith("indexed 250 of 1000 passages") and "passages/s" in first
    assert "left" in first and "about 0 min 00 s left" in last

"""Large-corpus machinery: the inverted-file index and the candidate path of the ranking.

The candidate path is forced onto the (small) seed corpus here and compared with the exact
path; ``bench/scale.py`` measures it at 100k and 1M passages.
"""

import shutil

import numpy as np
import pytest

from qa import dense, evidence
from qa.dense import DenseIndex, choose_kind
from qa.indexer import IndexConfig

from conftest import SEED

QUESTIONS = ["划船社区党委书记是谁?", "宁海县第三水厂什么时候开始征地?", "Who leads the Huachuan community?",
             "怎么做红烧肉?"]


def unit(rows: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def clustered(rows: int, clusters: int = 200) -> np.ndarray:
    """Unit vectors around ``clusters`` topics, as text embeddings are (random points in 384
    dimensions have no near neighbours to find)."""
    topics = unit(clusters, seed=2)[np.arange(rows) % clusters]
    vectors = topics + 0.04 * np.random.default_rng(3).standard_normal((rows, 384))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_index_kind_follows_corpus_size():
    assert choose_kind(dense.IVF_MIN_VECTORS - 1) == "flat"
    assert choose_kind(dense.IVF_MIN_VECTORS) == "ivf"
    assert choose_kind(10 * dense.IVF_MIN_VECTORS, exact=True) == "flat"


@pytest.mark.parametrize("compact", [False, True])
def test_inverted_file_finds_the_exact_neighbours(tmp_path, compact):
    vectors = clustered(8000)
    index = DenseIndex.build(vectors, 384, kind="ivf", compact=compact)
    index.save(tmp_path / "ivf.faiss")
    loaded = DenseIndex.load(tmp_path / "ivf.faiss")
    assert loaded.kind == "ivf" and loaded.size == 8000
    queries = vectors[:50] + 0.02 * unit(50, seed=1)
    _, found = loaded.search(queries, 10)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])
    assert recall >= 0.95
    rows = np.array([3, 7999, 0])
    assert np.allclose(loaded.vectors_at(rows), vectors[rows], atol=2e-3 if compact else 1e-6)


@pytest.fixture(scope="module")
def candidate_retriever(settings, encoder, tmp_path_factory):
    """A retriever over the seed whose dense index is an inverted file (forced)."""
    from qa.retriever import Retriever

    docs = tmp_path_factory.mktemp("seed-ivf")
    shutil.copy(SEED, docs / SEED.name)
    patch = pytest.MonkeyPatch()
    patch.setattr(dense, "IVF_MIN_VECTORS", 1)
    patch.setattr(dense, "TRAIN_PER_CELL", 4)
    # every cell probed: the tests here are about scoring the candidates, not about how many
    # of the best passages the inverted file's cells hold (bench/scale.py measures that)
    patch.setattr(dense, "NPROBE_SHARE", 1.0)
    try:
        retriever = Retriever(settings.index_root / "seed-ivf", documents=[docs],
                              settings=settings, config=IndexConfig(compact=False),
                              progress=False)
        retriever.index
    finally:
        patch.undo()
    assert retriever.index.dense.kind == "ivf"
    return retriever


def test_candidate_path_equals_exact_when_the_reference_is_everything(seed_retriever,
                                                                      candidate_retriever):
    for question in QUESTIONS:
        exact = seed_retriever.evidence(seed_retriever.prepare(question))
        approx = candidate_retriever.evidence(candidate_retriever.prepare(question))
        assert np.allclose(exact.fused, approx.fused, atol=1e-4), question
        assert np.allclose(exact.sentence_cos, approx.sentence_cos, atol=1e-5), question
        assert [p.id.split("/")[-1] for p in seed_retriever.retrieve(question)] == \
            [p.id.split("/")[-1] for p in candidate_retriever.retrieve(question)]


def test_candidate_path_scores_candidates_exactly(seed_retriever, candidate_retriever,
                                                  monkeypatch):
    monkeypatch.setattr(evidence, "REFERENCE_SAMPLE", 4)
    monkeypatch.setattr(evidence, "CANDIDATES", 6)
    candidate_retriever.reload()
    try:
        for question in QUESTIONS[:3]:
            exact = seed_retriever.evidence(seed_retriever.prepare(question))
            approx = candidate_retriever.evidence(candidate_retriever.prepare(question))
            scored = np.isfinite(approx.fused)
            assert 4 < scored.sum() < len(scored)
            for name in ("passage_cos", "sentence_best", "keyword", "smoothed_keyword"):
                assert np.allclose(getattr(exact, name)[scored], getattr(approx, name)[scored],
                                   atol=1e-5), name
            best = int(np.argmax(exact.fused))
            assert scored[best] and int(np.argmax(approx.fused)) == best, question
    finally:
        monkeypatch.undo()
        candidate_retriever.reload()


def test_large_indexes_are_compact_by_default(settings, encoder, tmp_path, monkeypatch):
    from qa.retriever import Retriever

    monkeypatch.setattr(dense, "IVF_MIN_VECTORS", 1)
    monkeypatch.setattr(dense, "TRAIN_PER_CELL", 4)
    shutil.copy(SEED, tmp_path / SEED.name)
    retriever = Retriever(tmp_path / "index", documents=[tmp_path], settings=settings,
                          progress=False)
    assert retriever.index.dense.kind == "ivf"
    assert retriever.index.sentences.dtype == np.float16
    assert retriever.retrieve("划船社区党委书记是谁?")[0].answer

"""The keyword index's vectorised build gives bm25s's own scores, bit for bit, and its files."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from qa.bm25_matrix import lucene_scores
from qa.lexical import (SMOOTHING_PASSAGES, KeywordIndex, idf, query_tokens, query_weights,
                        smoothed_weights, tokenize)

BENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "bench"


def corpus_ids(texts: list[str]) -> tuple[list[np.ndarray], dict[str, int]]:
    vocabulary: dict[str, int] = {"": 0}
    ids = []
    for text in texts:
        tokens = tokenize(text) or [""]
        ids.append(np.array([vocabulary.setdefault(t, len(vocabulary)) for t in tokens],
                            dtype=np.int32))
    return ids, vocabulary


@pytest.mark.parametrize("chunk", [7, 65_536])
def test_scores_are_bm25s_own_bit_for_bit(chunk):
    rows = (BENCH / "cmrc2018" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    texts = [json.loads(row)["text"] for row in rows]
    texts += ["", "重复 重复 重复 repeated repeated", "Only English words here, twice: here."]
    ids, vocabulary = corpus_ids(texts)
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index((ids, vocabulary), show_progress=False, create_empty_token=False)
    ours = lucene_scores(ids, len(vocabulary), 1.2, 0.75, chunk=chunk)
    assert ours["num_docs"] == reference.scores["num_docs"]
    for key in ("data", "indices", "indptr"):
        assert ours[key].dtype == reference.scores[key].dtype, key
        assert np.array_equal(ours[key], reference.scores[key]), key


def test_built_index_scores_saves_and_loads(tmp_path):
    texts = ["宁海县第三水厂于2006年开始征地", "划船社区党委书记俞复玲", "", "the third water plant"]
    index = KeywordIndex.build([tokenize(t) for t in texts])
    scores = index.scores(tokenize("第三水厂征地"))
    assert scores.argmax() == 0 and scores[2] == 0
    assert list(index.holders(tokenize("俞复玲")[0])) == [1]
    index.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path, len(texts))
    assert np.array_equal(loaded.scores(tokenize("第三水厂征地")), scores)


def test_a_token_said_again_weighs_more_but_not_in_full():
    weights = query_weights("乙肝怎么治？乙肝大三阳，乙肝严重吗")
    assert list(weights) == query_tokens("乙肝怎么治？乙肝大三阳，乙肝严重吗")
    assert weights["乙肝"] == 1.5 and weights["大三"] == 1.0  # said 3 times: 2 * 3 / (1 + 3)
    assert "怎么" not in weights and len(set(weights)) == len(weights)
    assert query_weights("") == {}


def test_weighted_scores_and_bound_are_the_weighted_sums():
    texts = ["乙肝大三阳需要抗病毒治疗", "乙肝小三阳定期复查肝功能", "高血压要低盐饮食", ""]
    index = KeywordIndex.build([tokenize(t) for t in texts])
    tokens = ["乙肝", "三阳", "治疗", "unknown"]
    weights = {"乙肝": 1.5, "治疗": 1.3333}
    expected = sum(index.scores([t]) * weights.get(t, 1.0) for t in tokens)
    assert np.allclose(index.scores(tokens, weights), expected, rtol=1e-6)
    assert np.array_equal(index.scores(tokens, {t: 1.0 for t in tokens}), index.scores(tokens))
    assert index.scores(["unknown"], {"unknown": 2.0}).tolist() == [0.0] * 4
    plain, weighted = index.upper_bound(tokens), index.upper_bound(tokens, weights)
    extra = sum((w - 1) * index.upper_bound([t]) for t, w in weights.items())
    assert weighted == pytest.approx(plain + extra)
    query = index.query(tokens, weights=weights)
    assert np.array_equal(query.at(np.arange(4)), index.scores(tokens, weights))


def test_smoothed_weights_lift_a_small_collections_tokens_and_leave_a_large_one_alone():
    tokens = ["古井", "历史", "少年"]
    weights = {"古井": 1.5}
    small = smoothed_weights({"古井": 1, "历史": 1, "少年": 0}, 1, weights)
    assert small["古井"] == pytest.approx(1.5 * idf(1, 1 + SMOOTHING_PASSAGES) / idf(1, 1))
    # in one passage a held token's idf is low and an absent one's high; smoothed, the held
    # tokens gain the most, so a plain answer's share of the reachable score rises
    assert small["历史"] > small["少年"] > 1.0
    index = KeywordIndex.build([tokenize("村口的古井有三百年历史。")])
    frequencies = index.document_frequency(tokens)
    smoothed = smoothed_weights(frequencies, index.size)
    plain = index.scores(tokens)[0] / index.upper_bound(tokens)
    lifted = index.scores(tokens, smoothed)[0] / index.upper_bound(tokens, smoothed)
    assert lifted > 1.5 * plain
    large = smoothed_weights({t: df for t, df in zip(tokens, (3, 2_500, 0))}, 5_000)
    assert all(1.0 < w < 1.04 for w in large.values())

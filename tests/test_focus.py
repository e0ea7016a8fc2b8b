"""The ranking's last step (qa.focus): the best passages weighed again by where the keywords are."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qa import fusion
from qa.focus import Passages, focus
from qa.fusion import Recipe
from qa.passage import Record

TEXTS = [
    # the question's words here and there: 机场快线 in one sentence, 通车 in another
    "机场快线连接香港站和机场。全线设有五个车站。旧线早在当年已经通车。",
    # all of them in one sentence
    "机场快线于1998年正式通车。它属于机场铁路的一部分。",
    # another script: cannot hold the question's words
    "The Airport Express opened in 1998 with the new airport.",
    # the same words again, ranked below the best few
    "机场快线于1998年通车。",
]


def _spans(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, start, end)`` of each sentence (cut after 。) and each text's first sentence."""
    spans = []
    for row, text in enumerate(texts):
        start = 0
        for end, char in enumerate(text, 1):
            if char in "。." and end - start > 1:
                spans.append((row, start, end))
                start = end
    spans = np.array(spans, dtype=np.int64)
    return spans, np.searchsorted(spans[:, 0], np.arange(len(texts) + 1))


def _evidence(fused: list[float], cross: list[float]) -> fusion.Evidence:
    n = len(fused)
    zeros = np.zeros(n, np.float32)
    return fusion.Evidence(zeros, zeros, zeros, zeros, np.array(fused, np.float32), zeros,
                           np.array(cross, np.float32), zeros, zeros)


@pytest.fixture
def setting():
    records = [Record(id=str(i), text=t, source=f"{i}.txt") for i, t in enumerate(TEXTS)]
    spans, first = _spans(TEXTS)
    weights = {"机场": 1.0, "快线": 1.0, "通车": 1.0}  # the question's keywords, equal idf
    return Passages(records, spans, first), weights


def test_the_passage_saying_it_in_one_sentence_overtakes(setting):
    passages, weights = setting
    recipe = replace(Recipe(), focus_depth=3)
    before = _evidence([5.0, 4.9, 4.8, 4.0], [0, 0, 1, 0])
    after = focus(before, passages, weights, 3, recipe)
    gain = after.fused - before.fused
    assert gain[0] == pytest.approx(2 / 3 + 1)  # two of three in its best sentence
    assert gain[1] == pytest.approx(2.0)  # whole share in its best sentence and in the passage
    assert gain[2] == pytest.approx(gain[1])  # another script: the best gain, never a loss
    assert gain[3] == 0.0  # under the best focus_depth: untouched
    assert int(np.argmax(after.fused)) == 1 and int(np.argmax(before.fused)) == 0
    assert before.fused[0] == 5.0  # the evidence given is not changed


def test_long_questions_and_a_zero_depth_leave_the_ranking_alone(setting):
    passages, weights = setting
    before = _evidence([5.0, 4.9, 4.8, 4.0], [0, 0, 1, 0])
    recipe = Recipe()
    assert focus(before, passages, weights, recipe.long_to, recipe) is before
    off = replace(recipe, focus_depth=0)
    assert focus(before, passages, weights, 3, off) is before
    halfway = (recipe.long_from + recipe.long_to) // 2
    half = focus(before, passages, weights, halfway, recipe)
    full = focus(before, passages, weights, 3, recipe)
    share = 1 - fusion.length_share(halfway, recipe)
    np.testing.assert_allclose(half.fused - before.fused, share * (full.fused - before.fused),
                               rtol=1e-5)


def test_only_the_passages_of_a_filter_compete(setting):
    passages, weights = setting
    before = _evidence([5.0, 4.9, 4.8, 4.0], [0, 0, 1, 0])
    recipe = Recipe()
    within = np.array([0, 2, 3])
    after = focus(before, passages, weights, 3, recipe, within)
    gain = after.fused - before.fused
    assert gain[1] == 0.0  # filtered out
    assert gain[2] == pytest.approx(max(gain[0], gain[3]))  # the best among those kept


def test_a_title_line_counts_when_the_index_embeds_titles(setting):
    passages, weights = setting
    titled = [replace(r, title="机场快线") for r in passages.records]
    record = replace(passages.records[0], text="全线设有五个车站。旧线早在当年已经通车。")
    titled[0] = replace(titled[0], text=record.text)
    spans, first = _spans([r.text for r in titled])
    for titles, expected in ((False, 1 / 3), (True, 1.0)):
        [(_, whole)] = Passages(titled, spans, first, titles=titles).tokens([0])
        assert sum(w for t, w in weights.items() if t in whole) / 3 == pytest.approx(expected)


def test_the_ranking_applies_it_to_its_best_passages(make_retriever):
    files = {f"{i}.txt": text for i, text in enumerate(TEXTS)}
    files.update({f"other{i}.txt": text for i, text in enumerate(
        ["今天的天气很好，适合出门散步。", "这家餐厅的菜很好吃，价格也不贵。", "图书馆周末开放到晚上九点。"])})
    retriever, _ = make_retriever(files, "focus")
    question = retriever.prepare("机场快线哪一年通车?")
    sources = [r.source for r in retriever.index.records]
    retriever.recipe = replace(Recipe(), focus_depth=0)
    before = retriever.evidence(question)
    retriever.recipe = Recipe()
    after = retriever.evidence(question)
    gain = after.fused - before.fused
    top = np.argsort(-before.fused)[:Recipe().focus_depth]
    assert np.all(gain[top] >= 0) and gain.max() > 0
    assert np.all(gain[np.setdiff1d(np.arange(len(gain)), top)] == 0)
    one_sentence = sources.index(next(s for s in sources if s.endswith("1.txt")))
    scattered = sources.index(next(s for s in sources if s.endswith("0.txt")))
    assert gain[one_sentence] > gain[scattered] > 0
    english = sources.index(next(s for s in sources if s.endswith("2.txt")))
    same_script = [row for row in top if not after.cross[row]]
    assert gain[english] == pytest.approx(max(gain[same_script]))

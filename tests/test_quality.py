"""Answer sentences, follow-up questions and "not found" on the seed."""

import json
from pathlib import Path

import pytest

from qa.followup import is_follow_up, resolve

QUESTIONS = json.loads((Path(__file__).parent / "data" / "seed_questions.json").read_text("utf-8"))


def test_on_and_off_topic_questions_about_the_seed(seed_retriever):
    """On-topic: the expected passage is shown in the top 3 (any tier); off-topic (general
    knowledge, near-topic questions the seed does not answer, other documents): no passage in
    the answer tier."""
    shown = [item["q"] for item in QUESTIONS["on_topic"]
             if any(item["expect"] in p.text
                    for p in seed_retriever.retrieve(item["q"], k=3, possible=True))]
    off = [q for kind in ("off_topic", "near_topic", "other_documents") for q in QUESTIONS[kind]]
    refused = [q for q in off if seed_retriever.retrieve(q, k=3) == []]
    on = len(QUESTIONS["on_topic"])
    print(f"\non-topic shown: {len(shown)}/{on}; off-topic refused: {len(refused)}/{len(off)}")
    assert len(shown) >= 0.9 * on, sorted(set(i["q"] for i in QUESTIONS["on_topic"]) - set(shown))
    assert len(refused) >= 0.9 * len(off), sorted(set(off) - set(refused))


@pytest.mark.parametrize("question", ["怎么做红烧肉?", "How do I cook braised pork belly?"])
def test_cooking_is_not_found(seed_retriever, question):
    assert seed_retriever.retrieve(question, k=5) == []


@pytest.mark.parametrize("question, answer", [
    ("宁海县第三水厂哪一年开始征地?", "宁海县第三水厂从2006年开始土地征用工作"),
    ("严东辉带领年轻干部在哪些村走访群众?", "在大洋山村、张家山村走访群众"),
    ("香榧种植面积有多大?", "目前种植面积1.5万亩"),
])
def test_answer_sentence(seed_retriever, question, answer):
    best = seed_retriever.retrieve(question, k=1, possible=True)[0]  # 香榧's: "possible"
    assert answer in best.answer
    assert best.text[best.answer_start:best.answer_end] == best.answer
    assert len(best.answer) < len(best.text)


@pytest.mark.parametrize("earlier, question, expected", [
    ("划船社区党委书记是谁?", "她是哪一届党代表?", "十八大代表"),
    ("宁海县第三水厂的征地工作怎么样了?", "它是哪一年开始征地的?", "从2006年开始土地征用"),
])
def test_follow_up_questions_use_the_chat(seed_retriever, earlier, question, expected):
    top = seed_retriever.retrieve(question, k=1, history=[earlier])
    assert top and expected in top[0].text


def test_self_contained_questions_ignore_history(seed_retriever):
    question = "香榧种植面积有多大?"
    alone = seed_retriever.retrieve(question, k=3, possible=True)
    with_history = seed_retriever.retrieve(question, k=3, history=["划船社区党委书记是谁?"],
                                           possible=True)
    assert alone and [(p.id, p.score) for p in alone] == [(p.id, p.score) for p in with_history]


def test_follow_up_detection():
    assert is_follow_up("她是哪一届党代表?") and is_follow_up("它是哪一年开始征地的?")
    assert is_follow_up("What about the bank?") and is_follow_up("When was it built?")
    assert not is_follow_up("划船社区党委书记是谁?")
    assert not is_follow_up("Where is the library?")
    assert resolve("她是谁?", ["书记是谁?", "她是哪一届代表?"]) == "书记是谁? 她是哪一届代表? 她是谁?"
    assert resolve("香榧种植面积有多大?", ["别的问题"]) == "香榧种植面积有多大?"
    assert resolve("她是谁?", []) == "她是谁?"

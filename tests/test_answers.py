"""The answering span (qa.answers) with the real model, and answer accuracy in `qa eval`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.answers import (MAX_SENTENCES, TERMS, AnswerOutcome, answer_accuracy, answer_key,
                        gold_answers, holds_answer, sentence_probabilities, span_model,
                        span_terms, widen)
from qa.span_features import FEATURES, sentence_features

ROOT = Path(__file__).resolve().parent.parent

SEEDED = [  # from tests/data/seed_questions.json: question, a string its span must hold
    ("划船社区党委书记是谁?", "划船社区党委书记俞复玲"),
    ("宁海县第三水厂哪一年开始征地?", "从2006年开始土地征用"),
    ("黄坛镇一户一表改造投资多少钱?", "2000万元"),
    ("示范区推出了多少个党建项目?", "22个党建项目"),
    ("得力打印机项目征收了多少亩土地?", "140亩"),
    ("去年有多少个村集体经济经营性收入超过10万元?", "30个村"),
    ("How many volunteers with medical knowledge did the community recruit?", "20多位"),
]


@pytest.mark.parametrize("question, expected", SEEDED)
def test_the_span_holds_the_answer(seed_retriever, question, expected):
    passages = seed_retriever.retrieve(question, k=1)
    assert passages, "not found"
    passage = passages[0]
    assert expected in passage.answer, passage.answer
    assert passage.text[passage.answer_start:passage.answer_end] == passage.answer


def test_a_tiny_sentence_takes_in_the_number_after_it(make_retriever):
    text = ("黄坛镇一户一表改造。该工程总投资2000万元，惠及全镇3000多户居民。"
            "镇里还修建了两座公园，供居民散步休闲。"
            "今年春天，镇文化站举办了多场书画展览，吸引了周边县市的游客前来参观。"
            "当地的茶叶远销海外，茶农的收入逐年提高。")
    retriever, _ = make_retriever({"town.txt": text})
    passage = retriever.retrieve("黄坛镇一户一表改造投资多少钱?", k=1)[0]
    assert "2000万元" in passage.answer
    assert passage.answer.endswith("。") and len(passage.answer) < len(passage.text)


def test_widen_grows_toward_the_likelier_neighbour_and_stops():
    spans = [[0, 10], [10, 20], [20, 80], [80, 90], [90, 100]]
    chances = np.array([0.05, 0.10, 0.60, 0.20, 0.05])
    assert widen(spans, chances, chars=60, mass=0.5) == (2, 2)  # likely and long enough
    assert widen(spans, chances, chars=70, mass=0.5) == (2, 3)  # short: 3 is likelier than 1
    assert widen(spans, chances, chars=0, mass=0.85) == (1, 3)  # 0.6 + 0.2 + 0.1
    lo, hi = widen(spans, chances, chars=10 ** 6, mass=1.0)
    assert hi - lo + 1 == MAX_SENTENCES
    assert widen(spans, chances, chars=10 ** 6, mass=1.0, most=1) == (2, 2)


def test_sentence_features_see_the_question():
    text = "欧洲越橘是杜鹃花科的植物。欧洲越橘的果实含有花青素。欧洲越橘在1753年被命名。"
    spans = [[0, 13], [13, 27], [27, 40]]
    features = sentence_features(text, spans, [0.9, 0.85, 0.8], {"欧洲": 1.0, "越橘": 1.0,
                                 "含有": 3.0}, "欧洲越橘含有什么成分？")
    column = {name: features[:, i] for i, name in enumerate(FEATURES)}
    assert features.shape == (3, len(FEATURES))
    assert column["cosine_gap"].tolist() == pytest.approx([0.0, -0.05, -0.1])
    # the topic is in every sentence, so only 含有 tells the sentences apart
    assert column["distinct_keywords"].argmax() == 1 and column["keywords"][1] == 1.0
    assert column["first"].tolist() == [1.0, 0.0, 0.0]
    assert column["number_cue"].tolist() == [0.0, 0.0, 0.0]  # 什么成分 asks for no number
    asks_when = sentence_features(text, spans, [0.9, 0.85, 0.8], {}, "欧洲越橘何时被命名？")
    assert asks_when[:, FEATURES.index("date_cue")].tolist() == [0.0, 0.0, 1.0]
    english = sentence_features(text, spans, [0.5, 0.4, 0.3], {}, "When was it named?")
    assert english[:, FEATURES.index("cross_cosine")].tolist() == [0.5, 0.4, 0.3]
    assert english[:, FEATURES.index("date_cue")].tolist() == [0.0, 0.0, 1.0]


def test_keywords_beyond_the_opening_point_past_the_passage_subject():
    from qa.lexical import tokenize

    text = "黄鳍紫鱼是笛鲷科的一种。本鱼分布于西太平洋区。体长可达50公分。"
    spans = [[0, 12], [12, 23], [23, 32]]
    question = "黄鳍紫鱼体长多少？"
    weights = dict.fromkeys(tokenize(question), 5.0)
    features = sentence_features(text, spans, [0.9, 0.85, 0.85], weights, question)
    column = {name: features[:, i] for i, name in enumerate(FEATURES)}
    # the subject's words are in the opening only, so the plain share points there ...
    assert column["keywords"].argmax() == 0
    # ... and the words the opening lacks (体长) point to the answering sentence
    assert column["beyond_opening"][0] == 0.0 and column["beyond_opening"][1] == 0.0
    assert column["beyond_opening"][2] > 0
    coefficients = np.array(span_model()["coefficients"])
    # the fitted model uses it: without its terms the answering sentence is less likely
    unused = np.where(["beyond_opening" in term for term in TERMS], 0.0, coefficients)
    assert sentence_probabilities(features, coefficients)[2] > \
        sentence_probabilities(features, unused)[2]


def test_translated_words_count_for_a_question_in_another_script():
    text = "欧洲越橘是杜鹃花科的植物。欧洲越橘的果实含有花青素。欧洲越橘在1753年被命名。"
    spans = [[0, 13], [13, 27], [27, 40]]
    terms = [(3.0, (("含有",),)), (1.0, (("植物",), ("果实",)))]  # "contains", "fruit"
    features = sentence_features(text, spans, [0.5, 0.4, 0.3], {}, "What does the fruit contain?",
                                 terms=terms)
    column = {name: features[:, i] for i, name in enumerate(FEATURES)}
    assert column["keywords"].tolist() == [0.0, 0.0, 0.0]  # English words are not in the text
    assert column["translated"].tolist() == pytest.approx([0.25, 1.0, 0.0])
    # "fruit" is held by two sentences (by either translation), so it counts half in each
    assert column["distinct_translated"].tolist() == pytest.approx([0.125, 0.875, 0.0])
    assert column["distinct_translated"].argmax() == 1
    without = sentence_features(text, spans, [0.5, 0.4, 0.3], {}, "What does the fruit contain?")
    assert without[:, FEATURES.index("translated")].tolist() == [0.0, 0.0, 0.0]


def test_term_weights_keep_the_translations_the_index_holds(seed_retriever):
    from qa.evidence import term_weights

    question = seed_retriever.prepare("When did the third water plant start land acquisition?")
    terms = term_weights(seed_retriever.index, question)
    assert terms and all(weight > 0 and translations for weight, translations in terms)
    held = ["".join(tr) for _, translations in terms for tr in translations]
    assert any("水厂" in words for words in held), held
    vocabulary = seed_retriever.index.keyword.document_frequency(
        [t for _, translations in terms for tr in translations for t in tr])
    assert min(vocabulary.values()) > 0  # translations no passage holds are left out
    chinese = seed_retriever.prepare("宁海县第三水厂哪一年开始征地?")
    assert term_weights(seed_retriever.index, chinese) == []  # nothing to translate


def test_span_terms_are_the_features_then_their_pairwise_products():
    features = np.array([[2.0, 3.0], [0.5, -1.0]])
    assert span_terms(features).tolist() == [[2.0, 3.0, 4.0, 6.0, 9.0],
                                            [0.5, -1.0, 0.25, -0.5, 1.0]]
    assert len(TERMS) == len(FEATURES) * (len(FEATURES) + 3) // 2
    assert TERMS[len(FEATURES)] == f"{FEATURES[0]}*{FEATURES[0]}"


def test_the_shipped_span_model_matches_its_features_and_benchmark():
    model = span_model()
    assert model["terms"] == TERMS and len(model["coefficients"]) == len(TERMS)
    assert 0 < model["mass"] <= 1
    fitted = json.loads((ROOT / "bench" / "results" / "answers.json").read_text("utf-8"))
    assert fitted["model"]["coefficients"] == model["coefficients"]
    assert fitted["mass"] == model["mass"]
    chances = sentence_probabilities(np.eye(len(FEATURES))[:3], model["coefficients"])
    assert chances.sum() == pytest.approx(1.0)


def test_answers_match_across_case_width_script_and_spaces():
    assert holds_answer("ＡＢＣ公司於 2006 年開始徵地。", ["abc公司于2006年"])
    assert holds_answer("The Panthers got 24 interceptions.", ["24"])
    assert not holds_answer("共攔截 24 次。", ["25次", "  "])
    assert not holds_answer("anything", [])


def test_answer_accuracy_of_a_hand_made_example():
    outcomes = [AnswerOutcome(True, True, 10, 100), AnswerOutcome(True, False, 20, 100),
                AnswerOutcome(False, True, 30, 40), AnswerOutcome(False, False, 40, 60)]
    result = answer_accuracy(outcomes)
    assert result == {"answer_questions": 4, "answer@1|right": 0.5, "answer@1": 0.5,
                      "span_chars": 25.0, "passage_chars": 75.0}
    assert answer_accuracy([AnswerOutcome(False, True, 1, 2)])["answer@1|right"] is None
    assert answer_accuracy([])["answer@1"] is None


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def test_cross_lingual_answers_come_from_the_sibling_in_the_passages_language(tmp_path):
    _write(tmp_path / "xq_zh" / "queries.dev.jsonl",
           [{"id": "a", "text": "拦截了多少次？", "answers": ["24 次"]}])
    _write(tmp_path / "xq_en" / "queries.dev.jsonl",
           [{"id": "a", "text": "How many interceptions?", "answers": ["24"]}])
    _write(tmp_path / "xq_en2zh" / "queries.dev.jsonl",
           [{"id": "a", "text": "How many interceptions?", "answers": ["twenty-four"]},
            {"id": "b", "text": "Who?", "answers": []}])
    _write(tmp_path / "other" / "queries.dev.jsonl",
           [{"id": "a", "text": "无关", "answers": ["无关"]}])
    key = answer_key(tmp_path / "xq_en2zh" / "queries.dev.jsonl")
    assert key == {"a": {"latin": ["twenty-four", "24"], "cjk": ["24 次"]}}
    assert gold_answers(key["a"], "cjk") == ["24 次"]
    assert answer_key(tmp_path / "other" / "queries.dev.jsonl") == {"a": {"cjk": ["无关"]}}
    assert gold_answers({"cjk": ["甲"]}, "latin") == ["甲"]  # none in that script: all count


def test_qa_eval_reports_answer_accuracy(settings, encoder, tmp_path):
    from qa.evaluate import run_eval

    folder = tmp_path / "tiny"
    _write(folder / "corpus.jsonl", [
        {"id": "p1", "title": "", "text": "宁海县第三水厂位于黄坛镇。水厂从2006年开始土地征用，"
                                          "2009年建成通水。水厂每天可供水五万吨，服务全县居民。"
                                          "厂区周围种满了香樟树，环境十分优美。"},
        {"id": "p2", "title": "", "text": "香榧是宁海的特产。全县香榧种植面积1.5万亩，主要分布在山区。"
                                          "每年秋天是香榧收获的季节，农民忙着采摘和加工。"},
    ])
    _write(folder / "queries.dev.jsonl", [
        {"id": "q1", "text": "宁海县第三水厂哪一年开始征地?", "answers": ["2006年"]},
        {"id": "q2", "text": "香榧种植面积有多大?", "answers": ["1.5万亩"]},
        {"id": "q3", "text": "香榧种植面积有多大?", "answers": ["一百万亩"]},
    ])
    (folder / "qrels.dev.tsv").write_text("q1\tp1\t1\nq2\tp2\t1\nq3\tp1\t1\n", "utf-8")
    result = run_eval(folder / "corpus.jsonl", folder / "queries.dev.jsonl",
                      folder / "qrels.dev.tsv", settings, progress=False)
    assert result["recall@1"] == pytest.approx(2 / 3, abs=1e-3)
    assert result["answer_questions"] == 3
    assert result["answer@1|right"] == 1.0  # q1 and q2 are right and answered; q3 is wrong
    assert result["answer@1"] == pytest.approx(2 / 3, abs=1e-3)
    assert 0 < result["span_chars"] < result["passage_chars"]

"""The fusion recipe's long-question step (qa.fusion step 5), alone and on a real index."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa import fusion
from qa.fusion import Recipe, for_length, length_share

# Two patients' posts with their doctors' answers and, for each, a doctor's answer to a
# neighbouring question (ranked first without step 5), plus unrelated answers; from meddialog_zh
# dev (github.com/Toyhom/Chinese-medical-dialogue-data, MIT licence).
POSTS = {
    "calcium": "我大伯他患十多年的糖尿病。但是就在今年，他感觉四肢无力，而且浑身没劲儿，就去医院仔细检查"
               "了一下。大夫说他是骨质疏松。其实就是老年缺钙。我想进行咨询一下，糖尿病人怎样补钙？",
    "vitiligo": "我家孩子前不久发觉这身上长了许多的白癜风，很担心，也不知晓是怎么就患上了，猫狗的也平常没"
                "什么接触了，还会家里缺钱，就要到最好的医院治疗，这治疗癫痫病医院哪个好？",
}
ANSWERS = {
    "calcium": "糖尿病可以通过口服李乐钙片、维生素AD、无糖阿胶钙口服液等来治疗。如果消化钙，并且可以通过"
               "适当的阳光照射等方式来治疗。你也可以从饮食中消化钙，比如说多吃虾、喝牛奶、吃食用菌，比如说"
               "蘑菇、金针菇等。，喝鱼汤或骨头汤等。用来补钙治疗。以上可以做为参考。",
    "calcium_near": "糖尿病患者是可以补钙的，对血糖的波动没任何影响。糖尿病患者一定要注意血糖波动在正常的范围"
                    "之内，积极的坚持按时用药。平时要惯良好的饮食习惯，不要吃辛辣刺激性食物和油腻的食物，不要"
                    "吃含糖量比较高的食物，确保每天有充足的睡眠时间，多活动多锻练，这样对血糖稳定很重要。",
    "vitiligo": "白癜风和癫痫病是两个完全不同的疾病。根据你说的这种情况，很可能是你家孩子患了白癜风。引来白"
                "癜风的因素比较多，比如说有隔代遗传、传染或者是外伤、曝晒等因素。但是孩子一般绝大多数是因为"
                "隔代遗传因素引来的。白癜风一般早期发觉，尽早的到白癜风专科医院复诊治疗，治愈率是比较高的。",
    "vitiligo_near": "治疗癫痫可以去治疗癫痫疾病的专科医院，一般来讲专科医院主防的方向就是癫痫。在技术上更有"
                     "优势。如果有口碑比较好的专科医院，你可以去检查一下看一看，也可以去正规三甲医院的精神内科"
                     "实施治疗。地区不同，医疗体制也是不相同的，你可以去医院进行咨询一下，看一看哪个医院治疗癫痫"
                     "更权威。",
    "pressure": "一般饮食中应该是说对血压影响绝不会太大的，但是太过油腻的食物和过咸的食物可能会对血压有一定"
                "影响，所以在平常的日常生活中尽量还是少吃这两类的食物，如果感觉血压一直持继偏高，建议积极的"
                "口服降压药物实施重新调整，规律口服药物，然后将血压缓慢降到正常水平就可以了。",
    "pressure_near": "你好，根据你描述的情况看来你患高血压疾病，具有轻度的高血压，高血压患者需要有看重饮食控制，"
                     "不能够吃太咸太油腻的食物，如腌渍食品，油炸烤肉食物，肉制品等，你足量吃牛肉没事儿，不要吃"
                     "太多就可以，平时不定期复检血压，按时口服降压药，不要抽烟喝啤酒，多吃蔬菜水果。",
    "liver": "乙肝病毒携带者要定期复查肝功能和乙肝病毒DNA，肝功能正常时一般不需要抗病毒治疗，注意休息，"
             "不要饮酒，不要熬夜，饮食清淡。",
    "stomach": "胃炎患者饮食要规律，少食多餐，不要吃生冷辛辣的食物，可以口服奥美拉唑和铝碳酸镁治疗，症状"
               "不缓解时做胃镜检查。",
}


def test_length_share_ramps_between_long_from_and_long_to():
    recipe = Recipe()
    assert length_share(0, recipe) == length_share(recipe.long_from, recipe) == 0.0
    assert length_share(recipe.long_to, recipe) == length_share(500, recipe) == 1.0
    middle = (recipe.long_from + recipe.long_to) // 2
    assert 0.0 < length_share(middle, recipe) < 1.0


def test_for_length_moves_weights_to_the_long_values():
    recipe = Recipe()
    assert for_length(recipe, recipe.long_from) is recipe  # short questions: as tuned before
    long = for_length(recipe, recipe.long_to)
    assert (long.passage_weight, long.keyword_weight, long.keyword_floor) == (
        recipe.long_passage_weight, recipe.long_keyword_weight, recipe.long_keyword_floor)
    assert long.cross_passage_weight == recipe.cross_passage_weight


def test_a_long_question_trusts_the_whole_passage_and_small_keyword_shares():
    # passage 0: the best single sentence; passage 1: the best passage as a whole and a BM25
    # share under the short-question floor; passage 2 and 3: background
    passage_cos = np.array([0.80, 0.84, 0.78, 0.79], dtype=np.float32)
    sentence_best = np.array([0.90, 0.83, 0.80, 0.80], dtype=np.float32)
    bm25 = np.array([2.0, 10.0, 0.0, 0.0], dtype=np.float32)
    bound, groups = 500.0, np.zeros(4, dtype=np.int8)
    recipe = Recipe()

    def ranking(tokens):
        return fusion.combine(passage_cos, sentence_best, sentence_best, bm25, bound, groups,
                              np.zeros(4, np.float32), 0, recipe, question_tokens=tokens)

    short, long = ranking(recipe.long_from), ranking(recipe.long_to)
    assert int(np.argmax(short.fused)) == 0
    assert int(np.argmax(long.fused)) == 1
    assert short.keyword[1] == 0.0 < long.keyword[1]  # 10 / 500 is under the floor of 0.03


@pytest.fixture
def posts_retriever(make_retriever):
    files = {f"{name}.txt": text for name, text in ANSWERS.items()}
    retriever, _ = make_retriever(files, "posts")
    retriever.index
    return retriever


def test_real_posts_find_their_doctors_answers(posts_retriever):
    sources = {row: Path(record.source).name
               for row, record in enumerate(posts_retriever.index.records)}
    assert len(sources) == len(ANSWERS)  # one passage per answer
    step_off = replace(Recipe(), long_from=10_000, long_to=10_001)
    before = []
    for name, post in POSTS.items():
        question = posts_retriever.prepare(post)
        assert length_share(len(question.tokens), Recipe()) == 1.0  # a long question
        posts_retriever.recipe = Recipe()
        ranked = posts_retriever.rank(question, k=3)
        assert sources[ranked[0].row] == f"{name}.txt", (name, [sources[r.row] for r in ranked])
        posts_retriever.recipe = step_off
        before.append(sources[posts_retriever.rank(question, k=1)[0].row] == f"{name}.txt")
    assert not any(before)  # step 5 is what finds them

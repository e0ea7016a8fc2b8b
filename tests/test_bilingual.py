"""Dictionary translation of question words and the keyword evidence it gives across scripts."""

from pathlib import Path

import numpy as np
import pytest

from qa import fusion
from qa.bilingual import Dictionary, dictionary
from qa.lexical import KeywordIndex, idf, tokenize
from qa.phrases import chinese_numeral, number_forms, number_value, roman_numbers, roman_value

LINES = [
    "# CC-CEDICT sample",
    "入侵 入侵 [ru4 qin1] /to invade/",
    "侵略 侵略 [qin1 lu:e4] /invasion/to invade/",
    "英格蘭 英格兰 [Ying1 ge2 lan2] /England/",
    "發光二極管 发光二极管 [fa1 guang1 er4 ji2 guan3] /light-emitting diode/LED/",
    "領導 领导 [ling3 dao3] /to lead/leadership/",
    "超級碗 超级碗 [Chao1 ji2 Wan3] /Super Bowl (American football championship game)/",
    "張 张 [Zhang1] /surname Zhang/",
    "攔截 拦截 [lan2 jie2] /to intercept/variant of 截/",
]


def sources(terms):
    return {t.source: {"".join(x) for x in t.translations} for t in terms}


def test_english_words_and_phrases_find_their_chinese_headwords():
    terms = sources(Dictionary.parse(LINES).terms("Who invaded England in the Super Bowl?"))
    assert terms["invaded"] == {"入侵", "侵略"}
    assert terms["england"] == {"英格格兰"}  # the bigrams 英格 + 格兰
    assert terms["super bowl"] == {"超级级碗"}
    assert "who" not in terms


def test_acronyms_only_match_capitals_and_single_characters_are_skipped():
    parsed = Dictionary.parse(LINES)
    assert "LED" in sources(parsed.terms("LED lamps"))
    assert "led" not in sources(parsed.terms("Who led them?"))  # "led" is not the acronym
    assert "zhang" not in parsed.english  # single characters and surnames are left out


def test_chinese_words_give_their_english_gloss_words():
    parsed = Dictionary.parse(LINES)
    terms = sources(parsed.terms("谁领导了对英格兰的入侵?"))
    assert terms == {"领导": {"lead", "leadership"}, "英格兰": {"england"}, "入侵": {"invade"}}
    assert parsed.chinese["拦截"] == ("intercept",)  # "variant of" glosses are skipped


def test_the_packaged_dictionary_translates_both_ways():
    terms = sources(dictionary().terms("When did the Normans invade England?"))
    assert "入侵" in terms["invade"] and "英格格兰" in terms["england"]
    assert "intercept" in sources(dictionary().terms("诺曼拦截了多少球?"))["拦截"]


def test_term_scores_count_each_word_once_however_many_translations_match():
    index = KeywordIndex.build([["入侵", "侵略", "其它"], ["入侵", "英格", "格兰"], ["天气", "其它"]])
    two_translations = ("invade", (("入侵",), ("侵略",)))
    england = ("england", (("英格", "格兰"),))
    terms = [type("T", (), {"source": s, "translations": t})() for s, t in
             (two_translations, england)]
    scores, bound = index.term_scores(terms)
    assert scores[1] > scores[0] > scores[2] == 0  # two words beat two translations of one
    assert 0 < scores.max() <= bound


def test_one_idf_for_the_bound_and_bm25():
    index = KeywordIndex.build([["入侵", "侵略"], ["入侵", "英格"], ["天气"]])
    assert idf(0, 3) > idf(1, 3) > idf(2, 3) > idf(3, 3) > 0  # unknown tokens count highest
    assert idf(0, 0) == idf(0, 1)  # an empty index counts as one passage
    bound = index.upper_bound(["入侵", "未知"])
    assert bound == pytest.approx(2.2 * (idf(2, 3) + idf(0, 3)))  # (k1 + 1) * sum of idf
    assert index.scores(["入侵", "未知"]).max() <= bound


def test_translated_evidence_counts_only_for_passages_in_another_script():
    n = 4
    groups = np.array([0, 0, 1, 1], dtype=np.int8)  # the question is in script 0
    translated = np.array([5.0, 0.0, 5.0, 0.0], dtype=np.float32)
    flat = np.zeros(n, dtype=np.float32)
    evidence = fusion.combine(flat, flat, flat, flat, 0.0, groups, flat, 0,
                              translated=(translated, 10.0))
    assert evidence.translated.tolist() == [0.0, 0.0, 0.5, 0.0]
    assert evidence.fused[2] > max(evidence.fused[[0, 1, 3]])


@pytest.mark.slow
def test_english_question_over_chinese_text_and_the_reverse(make_retriever):
    retriever, _ = make_retriever({
        "normans.txt": "诺曼人是十世纪和十一世纪生活在法国诺曼底的民族。1066年，诺曼人入侵英格兰，"
                       "征服者威廉成为英格兰国王。",
        "warsaw.txt": "华沙是波兰的首都和最大城市，位于维斯瓦河畔，人口约一百八十万。",
        "rhine.md": "The Rhine is a European river that begins in the Swiss canton of Graubünden "
                    "and flows into the North Sea in the Netherlands.",
    })
    question = retriever.prepare("In what year did the Normans invade England?")
    evidence = retriever.evidence(question)
    rows = {r.source.split("/")[-1]: i for i, r in enumerate(retriever.index.records)}
    assert evidence.translated[rows["normans.txt"]] > 0
    assert evidence.translated[rows["rhine.md"]] == 0  # same script as the question
    assert retriever.retrieve("In what year did the Normans invade England?")[0].source.endswith(
        "normans.txt")
    assert retriever.retrieve("莱茵河流入哪个海?")[0].source.endswith("rhine.md")
    added = question.embed_translated[len(question.embed):]
    assert question.embed_translated.startswith(question.embed) and "英格兰" in added, added
    reverse = retriever.prepare("莱茵河流入哪个海?")
    assert reverse.embed_translated.startswith(reverse.embed + " (")  # English words added


# Translation chosen by the corpus (qa.phrases): phrases, compounds of single characters,
# numbers, and only what the passages hold.

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_b0e56cfeed1eb8fd.txt"


@pytest.fixture(scope="module")
def seed_keywords():
    """The real keyword index over the seed document's paragraphs."""
    paragraphs = [p for p in SEED.read_text(encoding="utf-8").splitlines() if p.strip()]
    return KeywordIndex.build([tokenize(p) for p in paragraphs])


def translated(terms):
    return {"".join(x) for t in terms for x in t.translations}


def test_the_seed_question_gets_water_plant_and_third(seed_keywords):
    question = "How much land was acquired for the third water plant?"
    terms = dictionary().terms(question, keyword=seed_keywords)
    tokens = {token for t in terms for x in t.translations for token in x}
    assert {"水厂", "第三"} <= tokens
    assert "much" not in sources(terms)  # "how much" is a question word
    word_by_word = translated(dictionary().terms(question))  # without the corpus: no compounds
    assert not any("水厂" in t for t in word_by_word)


def test_translations_the_corpus_lacks_are_dropped(seed_keywords):
    without = sources(dictionary().terms("Which plant is it?"))
    assert "坐探" in without["plant"]  # CC-CEDICT's "to plant (a spy)"
    index = KeywordIndex.build([tokenize("这种植物生长在山上。"), tokenize("天气很好。")])
    chosen = sources(dictionary().terms("Which plant is it?", keyword=index))
    assert "植物" in chosen["plant"] and not chosen["plant"] & {"坐探", "安插", "栽植"}
    every = [x for t in dictionary().terms("How much land was acquired for the third water "
                                           "plant?", keyword=seed_keywords)
             for x in t.translations]
    assert every and all(min(seed_keywords.document_frequency(list(x)).values()) > 0
                         for x in every)


def test_numbers_and_units_take_their_chinese_forms(seed_keywords):
    assert set(number_forms("2,000")) >= {"2000", "两千", "二千"}
    assert "1.5万" in number_forms("15,000") and "万" in number_forms("10,000")
    assert chinese_numeral(30) == ["三十"] and chinese_numeral(1900) == ["一千九百"]
    assert number_value(["two", "thousand", "mu"]) == ("2000", 2)
    terms = translated(dictionary().terms("Where were 15,000 mu planted?", keyword=seed_keywords))
    assert "1.5万亩" in terms
    terms = dictionary().terms("Who invested two thousand yuan?", keyword=seed_keywords)
    assert "2000" in {token for t in terms for x in t.translations for token in x}


def test_a_word_whose_own_senses_the_corpus_lacks_gets_its_compound_glosses():
    """CC-CEDICT glosses 政党 "political party", so "party" alone never reached it."""
    parsed = Dictionary.parse(LINES + ["政黨 政党 [zheng4 dang3] /political party/",
                                       "派對 派对 [pai4 dui4] /party (social gathering)/"])
    assert parsed.heads["party"] == ("政党",)
    index = KeywordIndex.build([tokenize("该政党赢得了选举。"), tokenize("天气很好。")])
    assert sources(parsed.terms("Which party won?", keyword=index))["party"] == {"政党"}
    assert sources(parsed.terms("Which party won?"))["party"] == {"派对"}  # own senses first
    both = KeywordIndex.build([tokenize("派对上的政党代表。"), tokenize("天气很好。")])
    assert sources(parsed.terms("Which party won?", keyword=both))["party"] == {"派对", "政党"}


def test_compound_glosses_only_fill_a_word_short_of_translations():
    parsed = Dictionary.parse(LINES + ["政黨 政党 [zheng4 dang3] /political party/",
                                       "共產黨 共产党 [Gong4 chan3 dang3] /Communist Party/"] +
                              [f"派對{i} 派对{i} [pai4 dui4] /party/" for i in "一二三四"])
    assert parsed.heads["party"] == ("政党",)  # a name's gloss is no fallback
    index = KeywordIndex.build([tokenize("派对一派对二派对三派对四和政党。"), tokenize("天气很好。")])
    chosen = sources(parsed.terms("Which party won?", keyword=index))["party"]
    assert len(chosen) == 4 and "政党" not in chosen  # four of its own: no fallback


def test_roman_numerals_after_a_name_become_the_digits_chinese_text_writes():
    assert [roman_value(x) for x in ("XLIX", "XXXIII", "II", "XC")] == [49, 33, 2, 90]
    assert [roman_value(x) for x in ("IIII", "VX", "IC", "LCD", "CCCC", "")] == [None] * 6
    assert roman_numbers("Who won Super Bowl XLIX?") == "Who won Super Bowl 49?"
    for text in ("Is it an LCD or a CD? I am", "Run CLI tests", "Does CI pass?", "Fix CCCC"):
        assert roman_numbers(text) == text
    assert roman_numbers("When did Queen Elizabeth II visit?") == "When did Queen Elizabeth 2 visit?"
    index = KeywordIndex.build([tokenize("丹佛野马队赢得第 49 届超级碗。"), tokenize("天气很好。")])
    assert "49" in sources(dictionary().terms("Who won Super Bowl XLIX?", keyword=index))


def test_a_chinese_question_gets_the_english_words_the_passages_hold():
    passages = ["In 1066 the Normans invaded England and William became king.",
                "The Rhine flows into the North Sea."]
    index = KeywordIndex.build([tokenize(p) for p in passages])
    terms = sources(dictionary().terms("诺曼人哪一年入侵英格兰?", keyword=index))
    assert terms["入侵"] == {"invaded"}  # the passage's form of "invade"
    assert terms["英格兰"] == {"england"}
    assert all(index.document_frequency([w])[w] > 0 for ws in terms.values() for w in ws)


def test_holders_are_the_passages_a_token_scores_in():
    """The postings read by ``KeywordIndex.holders`` (what the corpus check uses) are exactly
    the passages where the token has a BM25 score."""
    texts = ["宁海县第三水厂从2006年开始土地征用工作", "黄坛镇投资约2000万元", "水厂年内开工建设",
             "The water plant opens", ""]
    index = KeywordIndex.build([tokenize(t) for t in texts])
    for token in {t for text in texts for t in tokenize(text)} | {"没有", "absent"}:
        assert index.holders(token).tolist() == np.flatnonzero(index.scores([token]) > 0).tolist()
    assert index.holders("水厂").tolist() == [0, 2]


# Translated words in the question's dense vector (qa.questions).

def test_terms_keep_their_translations_as_written(seed_keywords):
    terms = dictionary().terms("How much land was acquired for the third water plant?",
                               keyword=seed_keywords)
    for term in terms:
        assert len(term.words) == len(term.translations)
        assert [tuple(tokenize(w)) for w in term.words] == list(term.translations)
    assert any("水厂" in w for t in terms for w in t.words)


def test_with_translations_appends_a_few_words_of_each_term():
    from qa.bilingual import Term
    from qa.questions import WORDS_PER_TERM, with_translations

    words = ("工厂", "植物", "栽培", "种植")
    many = Term("plant", tuple((w,) for w in words), words)
    water = Term("water", (("水",),), ("水",))
    text = with_translations("query: What does the plant make?", [many, water])
    kept = " ".join([*words[:WORDS_PER_TERM], "水"])
    assert text == f"query: What does the plant make? ({kept})"
    assert 1 <= WORDS_PER_TERM < len(words)
    assert with_translations("query: anything", []) == ""


def test_question_vectors_sum_both_texts_only_when_translated(encoder):
    from qa.questions import Question, question_vectors

    text = "How big is the third water plant?"
    plain = Question(text, (), f"query: {text}")
    both = Question(plain.text, (), plain.embed, (), plain.embed + " (第三水厂)")
    vectors = question_vectors(encoder, [plain, both])
    own, extra = encoder.encode_queries([plain.embed, both.embed_translated])
    assert vectors[0] == pytest.approx(own, abs=1e-5)
    expected = (own + extra) / np.linalg.norm(own + extra)
    assert vectors[1] == pytest.approx(expected, abs=1e-5)
    assert np.linalg.norm(vectors[1]) == pytest.approx(1.0, abs=1e-5)


def test_a_translated_text_only_where_the_documents_hold_another_script(seed_retriever):
    english = seed_retriever.prepare("How much land was acquired for the third water plant?")
    assert english.embed_translated.startswith(english.embed + " (")
    assert "水厂" in english.embed_translated
    chinese = seed_retriever.prepare("宁海县第三水厂征用了多少土地?")
    assert chinese.embed_translated == ""  # nothing to translate: the seed is all Chinese
    top = seed_retriever.retrieve("When did the third water plant start land acquisition?", k=1,
                                  possible=True)
    assert top and "第三水厂" in top[0].text

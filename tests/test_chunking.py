"""Chunking rules on the seed and on crafted text."""

from pathlib import Path

import pytest

from qa.chunking import chunk_text
from qa.layout import is_byline, is_caption, is_headline
from qa.sentences import content_sentences, estimate_tokens, split_sentences

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_b0e56cfeed1eb8fd.txt"
TITLE_1 = "集聚辖区内党建品牌,打造区域化的“服务联盟” 这个基层红色阵地越来越火"
TITLE_2 = "以主题教育为动力 集中进行项目攻坚 宁海黄坛 走出乡村发展新路子"


@pytest.fixture(scope="module")
def seed_chunks():
    text = SEED.read_text(encoding="utf-8")
    return text, chunk_text(text, "seed")


def test_broken_sentences_are_joined(seed_chunks):
    _, chunks = seed_chunks
    texts = [c.text for c in chunks]
    assert any("取号、等候,要花很长时间" in t for t in texts)
    assert any("首个建成使用的党建综合示范区党群服务中心。" in t for t in texts)
    assert not any(t.endswith("等候,") or t.endswith("建成使用的") for t in texts)


def test_captions_bylines_and_headlines_are_not_passages(seed_chunks):
    _, chunks = seed_chunks
    for chunk in chunks:
        assert "供图" not in chunk.text
        assert not chunk.text.startswith("□")
        assert chunk.text not in (TITLE_1, TITLE_2, "带动各类“红色”资源“活起来”")


def test_every_passage_carries_its_article_title(seed_chunks):
    _, chunks = seed_chunks
    assert {c.title for c in chunks} == {TITLE_1, TITLE_2}
    first = next(c for c in chunks if "俞复玲当“领头雁”" in c.text)
    water = next(c for c in chunks if "从2006年开始土地征用" in c.text)
    assert first.title == TITLE_1 and water.title == TITLE_2
    assert next(c for c in chunks if "林燕立马" in c.text).section == "带动各类“红色”资源“活起来”"


def test_offsets_point_at_the_source_text(seed_chunks):
    text, chunks = seed_chunks
    for chunk in chunks:
        span = text[chunk.start:chunk.end]
        assert span.replace("\n", "").startswith(chunk.text[:20])
        assert chunk.text[-10:] in span.replace("\n", "")


def test_classifiers():
    assert is_caption("示范区成员单位组织志愿服务活动服务百姓 通讯员 供图")
    assert is_caption("导师带徒推进第三水厂项目顺利开展 通讯员 供图7766")
    assert is_byline("□记者 樊莹 通讯员 杨磊")
    assert is_headline(TITLE_2)
    assert not is_headline("今年6月,百丈(划船)党建综合示范区党群服务中心落成,这是宁波市首个建成使用的")
    assert not is_headline("他来了。")


def test_sentences_end_at_chinese_and_latin_marks():
    text = "他说：“好。”然后走了！Hello world. It is 3.5 m long. 真的吗？Wait... what?"
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "他说：“好。”", "然后走了！", "Hello world.", "It is 3.5 m long.", "真的吗？",
        "Wait...", "what?",
    ]


def test_long_paragraphs_split_at_sentence_ends_within_budget():
    sentence = "这是一个用来测试切分规则的句子，它有二十多个字。"
    text = "长段落测试\n\n" + sentence * 30 + "\n"
    chunks = chunk_text(text, "t", max_tokens=100)
    assert len(chunks) > 3
    for chunk in chunks:
        assert estimate_tokens(chunk.text) <= 100
        assert chunk.text.endswith("。")
        assert chunk.title == "长段落测试"


def test_one_overlong_sentence_is_cut_at_commas():
    text = "，".join(["甲乙丙丁戊己庚辛壬癸"] * 40) + "。"
    chunks = chunk_text(text, "t", max_tokens=50)
    assert all(estimate_tokens(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_english_hard_wrapped_paragraphs_and_markdown_headings():
    text = ("# Water works\n\nThe third water plant of Ninghai began\nacquiring land in 2006 but"
            " was\nnot built for years.\n\n## Funding\n\nThe town invested 20 million yuan.\n")
    chunks = chunk_text(text, "doc")
    assert [c.text for c in chunks] == [
        "The third water plant of Ninghai began acquiring land in 2006 but was not built for years.",
        "The town invested 20 million yuan.",
    ]
    assert chunks[0].title == "Water works" and chunks[1].section == "Funding"


def test_file_without_title_uses_default_and_empty_text_gives_nothing():
    assert chunk_text("一句话。", "notes")[0].title == "notes"
    assert chunk_text("   \n\n  ", "x") == []
    with pytest.raises(ValueError):
        chunk_text("x", "x", max_tokens=2)


@pytest.mark.parametrize("text, sentences", [
    ("价格为3.5万元。第二句", ["价格为3.5万元。", "第二句"]),
    ("the U.S. economy grew. Then", ["the U.S.", "economy grew.", "Then"]),
    ("他说。」她笑了。", ["他说。」", "她笑了。"]),
    ("省略……然后！？”好", ["省略……", "然后！？”", "好"]),
    ("a.b and c.d.\n第二行；\n", ["a.b and c.d.", "第二行；"]),
    ("", []), ("。", ["。"]), ("...", ["..."]), (" \n\u3000 ", []),
    # a run of dots before a letter or a closing quote ends nothing and drops the text before
    # it back to the last sentence end: kept as it was, so existing indexes stay valid
    ("Done. Wait..what", ["Done.", ".what"]), ('Yes. He said "ok."Then', ["Yes.", '"Then']),
])
def test_sentence_spans_of_edge_cases(text, sentences):
    assert [text[a:b] for a, b in split_sentences(text)] == sentences


@pytest.mark.parametrize("text, sentences", [
    ("诺桑比亚大学获得公司奖。 。", ["诺桑比亚大学获得公司奖。"]),
    ("First. ... Second (2). ).", ["First.", "Second (2)."]),
    ("「」。好。", ["好。"]), ("_ _. x", ["x"]),
    ("。", ["。"]), ("…… ！", ["……", "！"]),  # nothing else: the text keeps its sentences
])
def test_sentences_without_a_word_get_no_vector(text, sentences):
    assert [text[a:b] for a, b in content_sentences(text)] == sentences


def test_index_sentences_skip_punctuation_alone():
    from qa.indexer import sentence_spans
    from qa.passage import Record

    records = [Record(id="a", text="有两所大学。 。", source="a.txt"),
               Record(id="b", text="。", source="b.txt")]
    assert sentence_spans(records).tolist() == [[0, 0, 6], [1, 0, 1]]


def test_limits_on_one_document_are_refused_naming_it(monkeypatch):
    import qa.chunking
    from qa.errors import DocumentError

    monkeypatch.setattr(qa.chunking, "MAX_PASSAGES_PER_DOCUMENT", 3)
    assert len(chunk_text("第一句。\n第二句。\n第三句。", "ok")) == 3
    with pytest.raises(DocumentError, match=r"^notes: more than 3 passages"):
        chunk_text("第一句。\nSecond one.\n第三句。\n第四句。", "notes")
    with pytest.raises(DocumentError, match=r"^notes\.md: more than 3 passages, over the limit"):
        chunk_text("第一句。\nSecond one.\n第三句。\n第四句。", "notes", source="notes.md")
    monkeypatch.setattr(qa.chunking, "MAX_TEXT_CHARS", 10)
    with pytest.raises(DocumentError, match=r"^notes: 11 characters of text, over the 10-char"):
        chunk_text("宁海县第三水厂建成了。", "notes")


def test_a_run_of_headlines_makes_no_endless_title():
    text = "\n\n".join(f"标题行{n}" for n in range(3000)) + "\n\n正文在这里。"
    [chunk] = chunk_text(text, "doc")
    assert chunk.text == "正文在这里。" and len(chunk.title) <= 200

"""Reply formatting: highlight, key terms, escaping, not-found in both languages."""

from qa.passage import Passage
from qa.replies import escape, format_reply, key_term_mask, not_found, passage_markdown


def passage(text, answer=None, **extra):
    a, b = (text.index(answer), text.index(answer) + len(answer)) if answer else (0, 0)
    fields = dict(id="x#0", text=text, score=0.9, source="seeds/a.txt", title="标题", start=0,
                  end=len(text), answer_start=a, answer_end=b)
    fields.update(extra)
    return Passage(**fields)


def test_answer_sentence_is_marked_and_key_terms_bold():
    p = passage("前言。宁海县第三水厂从2006年开始土地征用工作。后记。", "宁海县第三水厂从2006年开始土地征用工作。")
    md = passage_markdown(p, "第三水厂哪一年开始征地?")
    assert md.startswith("前言。<mark>")
    assert "</mark>后记。" in md
    assert "<strong>第三水厂</strong>" in md


def test_key_terms_match_across_scripts():
    text = "臺灣的首都是臺北。"
    mask = key_term_mask(text, "台北在哪里?")
    assert [text[i] for i, m in enumerate(mask) if m] == ["臺", "北"]


def test_document_markup_is_escaped():
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> [x](javascript:alert(3)) **b**'
    md = format_reply("问题", [passage(hostile, title="<b>t</b>")])
    assert "<script>" not in md and "<img" not in md and "<b>" not in md
    assert "&lt;script&gt;" in md
    assert "](javascript" not in md and "\\[x\\]\\(javascript" in md
    assert "\\*\\*b\\*\\*" in md


def test_huge_markdown_table_in_a_document_stays_text():
    table = "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 500
    md = format_reply("表格", [passage(table)])
    assert "\\|" in md and "\n|---|" not in md


def test_escape_keeps_text_readable():
    assert escape("a < b & c") == "a &lt; b &amp; c"
    assert escape("1. item\n# head") == "1\\. item \\# head"


def test_long_passages_collapse():
    text = "开头。" + "这是很长的一段文字。" * 40 + "答案就在这里。" + "后面还有很多内容。" * 20
    md = passage_markdown(passage(text, "答案就在这里。"), "答案在哪里")
    assert md.startswith("…") and "<mark><strong>答案</strong>就在这里。</mark>" in md
    assert "<details><summary>全文</summary>" in md


def test_not_found_in_the_question_language():
    assert "没有找到" in format_reply("怎么做红烧肉?", [])
    assert "Not found in these documents" in format_reply("How do I bake bread?", [])
    assert not_found("How do I cook 红烧肉 at home?").startswith("Not found")


def test_reply_lists_rank_relevance_source_and_title():
    md = format_reply("Who?", [passage("俞复玲是书记。", "俞复玲是书记。", score=0.87)])
    assert "**1.**" in md and "relevance high (87%)" in md and "`seeds/a.txt`" in md and "标题" in md
    assert md.startswith("**Answer**: 俞复玲是书记。")


def test_chat_history_in_gradio_formats_gives_the_earlier_questions():
    from qa.chat import recent_questions

    assert recent_questions([
        {"role": "user", "content": "书记是谁?"},
        {"role": "assistant", "content": "俞复玲"},
        {"role": "user", "content": [{"type": "text", "text": "主任是谁?"}]},
        {"role": "user", "content": {"text": ""}}, "not a turn", None,
    ]) == ["书记是谁?", "主任是谁?"]
    assert recent_questions(None) == [] and recent_questions("text") == []


def test_english_key_terms_keep_their_spaces():
    text = "The secret ingredient of the harbour soup is smoked fish."
    md = passage_markdown(passage(text, text), "What is the secret ingredient of the soup?")
    assert "The <strong>secret</strong> <strong>ingredient</strong> of the harbour " in md
    assert "**" not in md and "Thesecret" not in md


def test_bidi_controls_and_math_are_neutralised():
    shown = escape("file\u202eexe.txt says \u2066evil\u2069 and $$x^2$$")
    assert "\u202e" not in shown and "\u2066" not in shown and "\u2069" not in shown
    assert "evil" in shown and "\\$\\$x^2\\$\\$" in shown


def test_a_huge_history_is_capped_before_anything_reads_it():
    from qa.chat import recent_questions
    from qa.followup import resolve
    from qa.limits import MAX_HISTORY_TURNS

    turns = []
    for n in range(200):  # 200 follow-ups of 6,000 characters each: 1.2 MB
        turns += [{"role": "user", "content": f"她呢{n}" + "那" * 6000},
                  {"role": "assistant", "content": "x"}]
    earlier = recent_questions(turns)
    assert len(earlier) == MAX_HISTORY_TURNS
    assert earlier[-1].startswith("她呢199") and max(map(len, earlier)) <= 1000
    joined = resolve("她呢?", [f"她{n}呢?" for n in range(200)])
    assert joined.split() == [f"她{n}呢?" for n in range(192, 200)] + ["她呢?"]


def test_possibly_relevant_passages_are_collapsed_after_the_answers():
    sure = passage("俞复玲是划船社区党委书记。", "俞复玲是划船社区党委书记。", score=0.9)
    maybe = passage("示范区惠及人群已超过6万。", score=0.05, tier="possible", id="x#1")
    md = format_reply("划船社区党委书记是谁?", [sure, maybe])
    assert md.startswith("**答案**: 俞复玲是划船社区党委书记")
    head, _, collapsed = md.partition("<details><summary>可能相关 (1)</summary>")
    assert "俞复玲" in head and "6万" not in head
    assert "**2.**" in collapsed and "6万" in collapsed and collapsed.rstrip().endswith("</details>")


def test_only_possibly_relevant_passages_say_not_found_and_show_them():
    maybe = passage("The bank set up a rest area for the elderly.", score=0.05, tier="possible")
    md = format_reply("What did the bank do?", [maybe])
    assert md.startswith("No sure answer in these documents")
    assert "**Answer**" not in md
    assert "<details open><summary>Possibly relevant (1)</summary>" in md and "rest area" in md
    assert format_reply("银行做了什么?", [maybe]).startswith("在这些文档中没有找到确定的答案")

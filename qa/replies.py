"""Formatting retrieved passages as a chat reply: Markdown in which every piece of document or
question text is escaped, so nothing from a document is ever rendered as markup or run.

The only markup in a reply is our own: ``<mark>`` around the answering sentence, ``<strong>``
around the question's key terms (tags, not ``**``: Markdown emphasis breaks next to other
emphasis or inside words), ``<details>`` for the full text of long passages, and the header.
Bidirectional-text controls are dropped from what is shown (an override can make "evil" read
"live"); the page renders no math. A reply is in Chinese when the question is
(:func:`qa.text.is_chinese`), else in English.
"""

from __future__ import annotations

import html
import re

from .lexical import query_tokens
from .passage import Passage
from .places import describe
from .text import is_chinese, normalize_char

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<:$])")
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LONG_PASSAGE = 300
CONTEXT = 90


def escape(text: str) -> str:
    """``text`` made inert: bidi controls dropped, HTML-escaped, Markdown punctuation
    backslash-escaped, each run of white space one space (kept at the ends, so escaped pieces
    join with their spaces)."""
    text = html.escape(re.sub(r"\s+", " ", _BIDI_CONTROLS.sub("", text)), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def not_found(question: str, possible: bool = False) -> str:
    """The honest reply when nothing answers, in the question's language (``possible``: some
    passages are possibly relevant and follow)."""
    if is_chinese(question):
        if possible:
            return "在这些文档中没有找到确定的答案。以下段落可能相关:"
        return "在这些文档中没有找到答案。请换个问法，或上传包含答案的文档。"
    if possible:
        return "No sure answer in these documents. These passages may be relevant:"
    return "Not found in these documents. Try asking differently, or upload a document that answers it."


def key_term_mask(text: str, question: str) -> list[bool]:
    """Which characters of ``text`` belong to one of the question's key terms (CJK bigrams
    and longer, Latin words of 3+ letters), matched across Simplified/Traditional script."""
    terms = [t for t in query_tokens(question, unigrams=False) if len(t) >= 2 and
             (not t.isascii() or len(t) >= 3)]
    folded = "".join(normalize_char(ch) for ch in text)
    mask = [False] * len(text)
    for term in terms:
        for match in re.finditer(re.escape(term), folded):
            for i in range(match.start(), match.end()):
                mask[i] = True
    return mask


def _marked(text: str, mask: list[bool], start: int, end: int) -> str:
    """Escaped ``text[start:end]`` with key-term runs in ``<strong>``."""
    out, i = [], start
    while i < end:
        j = i
        while j < end and mask[j] == mask[i]:
            j += 1
        piece = escape(text[i:j])
        out.append(f"<strong>{piece}</strong>" if mask[i] and piece.strip() else piece)
        i = j
    return "".join(out)


def passage_markdown(passage: Passage, question: str, long_limit: int = LONG_PASSAGE) -> str:
    """The passage text with the answering sentence in ``<mark>`` and key terms in bold;
    long passages show the answer in context and the full text in a collapsed block."""
    text, mask = passage.text, key_term_mask(passage.text, question)
    a, b = (passage.answer_start, passage.answer_end) if passage.answer else (0, 0)

    def render(start: int, end: int) -> str:
        if a >= b or b <= start or a >= end:
            return _marked(text, mask, start, end)
        left, right = max(a, start), min(b, end)
        return (_marked(text, mask, start, left) + "<mark>" + _marked(text, mask, left, right)
                + "</mark>" + _marked(text, mask, right, end))

    if len(text) <= long_limit:
        return render(0, len(text))
    lo = max(0, (a if a < b else 0) - CONTEXT)
    hi = min(len(text), max(b, lo) + CONTEXT)
    excerpt = ("…" if lo else "") + render(lo, hi) + ("…" if hi < len(text) else "")
    label = "全文" if is_chinese(text) else "Full text"
    return f"{excerpt}\n\n<details><summary>{label}</summary>\n\n{render(0, len(text))}\n\n</details>"


def relevance_label(score: float, chinese: bool) -> str:
    """A relevance people understand: the calibrated chance, in words and per cent."""
    if score >= 0.8:
        word = "高" if chinese else "high"
    elif score >= 0.5:
        word = "中" if chinese else "medium"
    else:
        word = "低" if chinese else "low"
    return f"{'相关度' if chinese else 'relevance'} {word} ({score:.0%})"


def _passage_lines(rank: int, passage: Passage, question: str, chinese: bool) -> list[str]:
    place = describe(passage.place, passage.section, chinese)
    where = escape(passage.title) + (f" · {escape(place)}" if place else "")
    also = ""
    if passage.also_in:
        names = ", ".join(f"`{name.replace('`', '')}`" for name in passage.also_in)
        also = f" · {'也见于' if chinese else 'also in'} {names}"
    return [f"**{rank}.** {where} · `{passage.source.replace('`', '')}`{also} · "
            f"{relevance_label(passage.score, chinese)}", "",
            passage_markdown(passage, question), ""]


def format_reply(question: str, passages: list[Passage]) -> str:
    """Markdown reply: the best answering sentence, then each passage that answers with rank,
    relevance, source and title; passages only possibly relevant (``tier == "possible"``)
    follow in a block, collapsed under answers, open after the not-found line when none
    answers; the not-found reply alone when ``passages`` is empty."""
    chinese = is_chinese(question)
    sure = [p for p in passages if p.tier == "answer"]
    maybe = [p for p in passages if p.tier != "answer"]
    lines = []
    if sure:
        answer = escape(sure[0].answer or sure[0].text).strip()
        lines += [f"{'**答案**' if chinese else '**Answer**'}: {answer}", ""]
    else:
        lines += [not_found(question, possible=bool(maybe)), ""]
    for rank, passage in enumerate(sure, 1):
        lines += _passage_lines(rank, passage, question, chinese)
    if maybe:
        label = "可能相关" if chinese else "Possibly relevant"
        lines += [f"<details{'' if sure else ' open'}><summary>{label} ({len(maybe)})</summary>",
                  ""]
        for rank, passage in enumerate(maybe, len(sure) + 1):
            lines += _passage_lines(rank, passage, question, chinese)
        lines += ["</details>", ""]
    return "\n".join(lines).strip()

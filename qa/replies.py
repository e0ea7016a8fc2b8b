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


def not_found(question: str) -> str:
    """The honest reply when nothing answers, in the question's language."""
    if is_chinese(question):
        return "在这些文档中没有找到答案。请换个问法，或上传包含答案的文档。"
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


def format_reply(question: str, passages: list[Passage]) -> str:
    """Markdown reply: the best answering sentence, then each passage with rank, relevance,
    source and title; the not-found reply when ``passages`` is empty."""
    if not passages:
        return not_found(question)
    chinese = is_chinese(question)
    best = passages[0]
    answer = escape(best.answer or best.text).strip()
    lines = [f"{'**答案**' if chinese else '**Answer**'}: {answer}", ""]
    for rank, passage in enumerate(passages, 1):
        where = escape(passage.title) + (f" › {escape(passage.section)}" if passage.section else "")
        lines.append(f"**{rank}.** {where} · `{passage.source.replace('`', '')}` · "
                     f"{relevance_label(passage.score, chinese)}")
        lines.append("")
        lines.append(passage_markdown(passage, question))
        lines.append("")
    return "\n".join(lines).strip()

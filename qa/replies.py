"""Formatting retrieved passages as a chat reply (Markdown with every document text escaped)."""

from __future__ import annotations

import html
import re

from .passage import Passage

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")


def escape_markdown(text: str) -> str:
    """``text`` made inert: HTML-escaped and Markdown punctuation backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)).replace("\n", " ")


def is_chinese(text: str) -> bool:
    """True when CJK characters outnumber Latin letters in ``text``."""
    cjk = len(re.findall(r"[\u3400-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk > 0 and cjk >= latin / 3


def not_found(question: str) -> str:
    """The honest reply when nothing answers, in the question's language."""
    if is_chinese(question):
        return "在这些文档中没有找到答案。"
    return "Not found in these documents."


def format_reply(question: str, passages: list[Passage]) -> str:
    """Markdown reply listing ``passages`` with source, title and the answering sentence."""
    if not passages:
        return not_found(question)
    blocks = []
    for rank, passage in enumerate(passages, 1):
        head = f"**{rank}.** {escape_markdown(passage.title)} · `{passage.source}` · " \
               f"relevance {passage.score:.0%}"
        text = escape_markdown(passage.text)
        if passage.answer:
            before = escape_markdown(passage.text[:passage.answer_start])
            answer = escape_markdown(passage.answer)
            after = escape_markdown(passage.text[passage.answer_end:])
            text = f"{before}**{answer}**{after}"
        blocks.append(f"{head}\n\n> {text}")
    return "\n\n".join(blocks)

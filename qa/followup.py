"""Follow-up questions: resolving a short or pronoun-led question from the chat so far. No LLM.

A question is a *follow-up* when it opens with a pronoun or a demonstrative (她, 他, 它, 其,
该, 这/那…, he, she, it, they, this, that…), opens with "and"/"what about"/那么/还有, or
contains a personal pronoun and is short (at most 10 CJK characters, Latin words counting two,
once question words are removed). Length alone never makes a follow-up: "Where is the library?"
stands on its own. A follow-up is read together with the earlier questions back to
the last self-contained one: ``context + " " + question``, at most
:data:`~qa.limits.MAX_HISTORY_TURNS` of them (a longer history is never read). A
self-contained question is left exactly as it is, so its results never change because of the
history.
"""

from __future__ import annotations

import re

from .limits import MAX_HISTORY_TURNS
from .text import MAIN_HAN

_PRONOUN_START = re.compile(
    r"^\s*(?:她们|他们|它们|她|他|它|其|该|此|这|那|这些|那些|这里|那里|上述|前者|后者)"
    r"|^\s*(?:and|but|also|what about|how about|then)\b"
    r"|^\s*(?:he|she|it|they|him|her|them|his|hers|its|their|this|that|these|those|there)\b",
    re.IGNORECASE,
)
_ELLIPSIS_START = re.compile(r"^\s*(?:那么|还有|另外|那|而)")
_PRONOUN_ANY = re.compile(
    r"\b(?:he|she|it|they|him|her|them|his|its|their)\b|她|他|它", re.IGNORECASE)
_HAN = re.compile(f"[{MAIN_HAN}]")
_QUESTION_WORDS = re.compile(
    r"什么|哪[一个些里年天位届]*|谁|多少|几|怎么|怎样|为什么|如何|是否|吗|呢|啊|的|是|了|在|有"
    r"|\b(?:what|which|who|whom|when|where|why|how|is|are|was|were|do|does|did|the|a|an|of)\b"
    r"|[?？!！。.,，\s]", re.IGNORECASE)


def content_size(question: str) -> int:
    """Chinese characters (:data:`qa.text.MAIN_HAN`) plus twice the Latin words left once
    question words and punctuation are removed."""
    rest = _QUESTION_WORDS.sub(" ", question)
    cjk = len(_HAN.findall(rest))
    words = len(re.findall(r"[A-Za-z0-9]+", rest))
    return cjk + 2 * words


def is_follow_up(question: str) -> bool:
    """True when ``question`` needs the earlier questions to be understood."""
    if _PRONOUN_START.search(question) or _ELLIPSIS_START.search(question):
        return True
    return content_size(question) <= 10 and bool(_PRONOUN_ANY.search(question))


def resolve(question: str, history: list[str] | None) -> str:
    """The text to search for ``question`` given the user's earlier ``history`` (oldest first).

    Returns ``question`` unchanged when it is self-contained or there is no usable history.
    Only the last :data:`~qa.limits.MAX_HISTORY_TURNS` questions of ``history`` are read.
    """
    if not history or not is_follow_up(question):
        return question
    context: list[str] = []
    recent = [h for h in history[-MAX_HISTORY_TURNS:] if isinstance(h, str) and h.strip()]
    for earlier in reversed(recent):
        context.insert(0, earlier.strip())
        if not is_follow_up(earlier):
            break
    return " ".join(context + [question]) if context else question

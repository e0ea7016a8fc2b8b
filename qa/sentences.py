"""Sentences and passage sizes (rules 5 and 6 of :mod:`qa.chunking`), in linear time.

A sentence ends after a run of ``。！？；!?;…`` (with any closing quotes or brackets after it),
after a run of ``.`` (with closers) that white space or the end of the text follows, and at the
end of the text. One left-to-right scan gives the same spans the earlier regular expression
did, including its one quirk: a run of dots that is neither followed by white space nor inside
a word (``"a..b"``, ``'"yes."Then'``) ends nothing and drops the text before it since the last
sentence end, as the regular expression's failed matches did. Keeping it keeps the passages of
existing indexes unchanged.

Token estimates are kept as ``(CJK, other non-space)`` character counts, which add up over
concatenation, so packing sentences into passages never recounts a growing passage.
"""

from __future__ import annotations

import re

from .text import CJK_RE, TRIMMED

SENTENCE_END = "。！？；!?;…"
CLOSERS = "”’\"」』）)】》"
TRIM = TRIMMED + "\n"
_STOP_RE = re.compile(f"[{SENTENCE_END}.]")
_END_RUN_RE = re.compile(f"[{SENTENCE_END}]+[{CLOSERS}]*")
_DOTS_RE = re.compile(r"\.+")
_CLOSERS_RE = re.compile(f"[{CLOSERS}]*")
_CLAUSE_RE = re.compile(r"(?<=[，,、：:])")
_WORD_RE = re.compile(r"[^\W_]")  # a letter, digit or CJK character


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text`` (white space trimmed).

    Args:
        text: any text; time and memory are linear in its length.
    Returns:
        Non-empty spans in text order, without leading or trailing spaces, tabs, newlines,
        ideographic spaces, no-break spaces or byte-order marks.
    """
    spans: list[tuple[int, int]] = []
    size, start, pos = len(text), 0, 0
    while True:
        stop = _STOP_RE.search(text, pos)
        if stop is None:
            break
        at = stop.start()
        if text[at] != ".":
            pos = _END_RUN_RE.match(text, at).end()
            _add(spans, text, start, pos)
            start = pos
            continue
        dots_end = _DOTS_RE.match(text, at).end()
        end = _CLOSERS_RE.match(text, dots_end).end()
        if end == size or text[end].isspace():
            _add(spans, text, start, end)
            start = pos = end
            continue
        # Dots inside a word ("3.5", "a.b") belong to the sentence. Before a closer or another
        # dot they end nothing and, as the regular expression's failed matches did, the text
        # from ``start`` up to that dot is dropped.
        if dots_end - at >= 2:
            start = dots_end - 1
        if text[dots_end] in CLOSERS:
            start = dots_end
        pos = dots_end
    _add(spans, text, start, size)
    return spans


def content_sentences(text: str) -> list[tuple[int, int]]:
    """The spans of :func:`split_sentences` that hold a letter, digit or CJK character: the
    sentences that get a vector and can be highlighted. A "sentence" of punctuation alone (the
    ``。`` of ``"公司奖。 。"``) says nothing, yet its vector lay near every question: in the
    xquad_en2zh corpus one such ``。`` was the best sentence of the first passage for 4 dev
    questions. All spans when none holds one."""
    spans = split_sentences(text)
    return [(a, b) for a, b in spans if _WORD_RE.search(text, a, b)] or spans


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start] in TRIM:
        start += 1
    while end > start and text[end - 1] in TRIM:
        end -= 1
    if end > start:
        spans.append((start, end))


def _counts(text: str) -> tuple[int, int]:
    """``(CJK characters (:data:`qa.text.CJK`), other non-space characters)`` of ``text``."""
    cjk = len(CJK_RE.findall(text))
    return cjk, sum(map(len, text.split())) - cjk


def _tokens(counts: tuple[int, int]) -> int:
    return counts[0] + (counts[1] + 2) // 3


def estimate_tokens(text: str) -> int:
    """Rough model-token count: one per CJK character, one per three other non-space chars."""
    return _tokens(_counts(text))


def glued(left: str, right: str) -> bool:
    """Whether joining text ending in ``left`` to text starting with ``right`` needs a space:
    Latin text on both sides (``3.`` + ``Name``, ``word`` + ``next``), never CJK."""
    return left.isascii() and not left.isspace() and right.isascii() and right.isalnum()


def pack_sentences(text: str, max_tokens: int) -> list[str]:
    """``text`` as pieces of at most ``max_tokens`` estimated tokens (rule 6).

    Args:
        text: one paragraph.
        max_tokens: the budget of one piece.
    Returns:
        ``[text]`` when it fits; else whole sentences packed greedily, an over-long sentence
        cut at commas and then every ``max_tokens`` characters.
    """
    if estimate_tokens(text) <= max_tokens:
        return [text]
    units = (unit for start, end in split_sentences(text)
             for unit in _cut_long(text[start:end], max_tokens))
    return _pack(units, max_tokens, glued)


def _pack(units, max_tokens: int, space) -> list[str]:
    """Greedy packing of ``units`` while the estimate fits; ``space(a, b)`` puts a space."""
    pieces: list[list[str]] = []
    counts = (0, 0)
    for unit in units:
        unit_counts = _counts(unit)
        total = (counts[0] + unit_counts[0], counts[1] + unit_counts[1])
        if pieces and _tokens(total) <= max_tokens:
            if space(pieces[-1][-1][-1], unit[0]):
                pieces[-1].append(" ")
            pieces[-1].append(unit)
            counts = total
        else:
            pieces.append([unit])
            counts = unit_counts
    return ["".join(parts) for parts in pieces]


def _cut_long(sentence: str, max_tokens: int) -> list[str]:
    if estimate_tokens(sentence) <= max_tokens:
        return [sentence]
    parts = [p for p in _CLAUSE_RE.split(sentence) if p]
    if len(parts) == 1:
        return [sentence[i:i + max_tokens] for i in range(0, len(sentence), max_tokens)]
    return _pack((piece for part in parts for piece in _cut_long(part, max_tokens)), max_tokens,
                 lambda left, right: False)

"""Splitting a document's text into passages, Chinese-aware. Pure functions, no I/O.

Rules, in the order they apply:

1. **Lines.** Text is cut into lines; each keeps its character offsets. Leading and trailing
   white space (also the ideographic space U+3000) is dropped. If the text separates paragraphs
   with blank lines, the lines of one blank-line block form one paragraph; otherwise each line
   is a paragraph.
2. **Headings.** ``#`` lines are headings (``#`` = article title, ``##``+ = section). A plain
   one-line paragraph is a *headline* when it has no sentence-final punctuation, does not end in
   a comma-like mark, is at most 40 characters long and has at most one comma. Consecutive
   headlines are one headline (kicker + title). A headline is an article title when it is the
   first text of the document or the next paragraph opens like a news lead (``本报讯``,
   ``本报记者``, ``新华社``, ``（记者…）``...); otherwise it is a section heading.
3. **Captions and bylines** are never passages: a short line ending in ``供图``/``摄`` (a number
   may follow) or naming ``图/``, ``摄影``; a line starting with ``□``/``■`` or made of
   ``记者 …``/``通讯员 …`` without sentence punctuation.
4. **Broken sentences are joined.** A paragraph that does not end in sentence-final punctuation
   and is not a heading (it ends in a comma-like mark, is longer than 40 characters, or has two
   or more commas) continues in the next paragraph, across blank lines. Chinese joins with
   nothing, Latin letters and digits with a space.
5. **Sentences** end at ``。！？；!?;…`` (with any closing quotes or brackets after them) and at
   ``.`` followed by white space or the end.
6. **Size.** A paragraph becomes one passage when its estimated token count (one per CJK
   character, one per three other non-space characters) fits ``max_tokens`` (default 200, far
   below the model's 512); longer ones are packed greedily by whole sentences, and a single
   over-long sentence is cut at commas, then at ``max_tokens`` characters.
7. **Titles.** Each passage carries its article's title (the file name stem when the file has no
   title) and its section path, if any: the headings above it, outer first (``##`` above
   ``###``; a headline without ``#`` counts as ``##``), joined by :data:`SECTION_JOIN`.

``start``/``end`` are offsets into the document text spanning the passage's source lines; the
passage ``text`` is those lines joined as described (so it can differ from ``text[start:end]``).

Time and memory are linear in the text's length: lines are read one at a time, joined text is
built once, and token counts are added up rather than recounted. A text over
:data:`qa.limits.MAX_TEXT_CHARS` characters, or one that would give more than
:data:`qa.limits.MAX_PASSAGES_PER_DOCUMENT` passages, is refused.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import NamedTuple

from .errors import DocumentError
from .layout import (CAPTION_MAX_CHARS, LEAD_RE, ends_sentence, heading_level, heading_title,
                     is_byline, is_caption, is_headline, last_open_char)
from .limits import MAX_PASSAGES_PER_DOCUMENT, MAX_TEXT_CHARS, MAX_TITLE_CHARS
from .sentences import glued, pack_sentences
from .text import TRIMMED

__all__ = ["Chunk", "SECTION_JOIN", "chunk_text"]

SECTION_JOIN = " › "
"""Between the headings of a section path (``二、项目概况 › 1. 选址``)."""


@dataclass(frozen=True)
class Chunk:
    """A passage before indexing: its text, span in the document, article title and section."""

    text: str
    start: int
    end: int
    title: str
    section: str = ""


class _Para(NamedTuple):
    text: str
    start: int
    end: int
    marks: tuple = ()  # (offset in text, offset in the document) where each joined line starts

    def at(self, offset: int) -> int:
        """The document offset of ``text[offset]``."""
        if not self.marks:
            return self.start + offset
        line = bisect.bisect_right(self.marks, (offset, float("inf"))) - 1
        joined, start = self.marks[max(line, 0)]
        return start + offset - joined


class _Joined:
    """A paragraph being joined from lines (rules 1 and 4), each line copied once."""

    __slots__ = ("parts", "start", "end", "size", "last", "open_end", "marks")

    def __init__(self, para: _Para):
        self.parts, self.start, self.end = [para.text], para.start, para.end
        self.size, self.last = len(para.text), para.text[-1]
        self.open_end = last_open_char(para.text)
        self.marks = list(para.marks or [(0, para.start)])

    def add(self, para: _Para) -> None:
        if glued(self.last, para.text[0]):
            self.parts.append(" ")
            self.size += 1
        self.marks += [(self.size + at, start) for at, start in para.marks or [(0, para.start)]]
        self.parts.append(para.text)
        self.size, self.end, self.last = self.size + len(para.text), para.end, para.text[-1]
        self.open_end = last_open_char(para.text) or self.open_end

    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts = ["".join(self.parts)]
        return self.parts[0]

    def head(self) -> str:
        """The first 8 characters (all a heading test reads)."""
        return self.parts[0][:8] if len(self.parts[0]) >= 8 else "".join(self.parts[:16])[:8]

    def para(self) -> _Para:
        return _Para(self.text(), self.start, self.end, tuple(self.marks))


def _lines(text: str) -> Iterator[_Para | None]:
    """Stripped lines with offsets, one at a time; ``None`` marks a blank line."""
    offset = 0
    while True:
        newline = text.find("\n", offset)
        end = len(text) if newline < 0 else newline
        raw = text[offset:end]
        stripped = raw.strip(TRIMMED)
        if stripped:
            lead = offset + len(raw) - len(raw.lstrip(TRIMMED))
            yield _Para(stripped, lead, lead + len(stripped))
        else:
            yield None
        if newline < 0:
            return
        offset = newline + 1


def _paragraphs(text: str, blocks: bool | None = None) -> Iterator[_Para]:
    blank_blocks = blocks if blocks is not None else \
        len(list(islice((1 for line in _lines(text) if line is None), 2))) >= 2
    current: _Para | _Joined | None = None
    current_heading = False
    for line in chain(_lines(text), [None]):
        heading = line is not None and bool(heading_level(line.text[:8], len(line.text)))
        if line is not None and blank_blocks and not heading and current is not None and \
                not current_heading:
            current = current if isinstance(current, _Joined) else _Joined(current)
            current.add(line)
            current_heading = bool(heading_level(current.head(), current.size))
            continue
        if current is not None:
            yield current if isinstance(current, _Para) else current.para()
        current, current_heading = line, heading


def _kind(text: str | None, size: int, open_end: str | None) -> str:
    """``skip`` (caption/byline), ``headline``, ``open`` (continues in the next) or ``body``;
    ``text`` is only read when short, ``open_end`` (else taken from ``text``) when needed."""
    if size <= CAPTION_MAX_CHARS:  # longer text is none of the first two
        if is_caption(text) or is_byline(text):
            return "skip"
        if is_headline(text):
            return "headline"
    end = last_open_char(text) if open_end is None else open_end
    return "body" if ends_sentence(end) else "open"


def _classify(paras: Iterable[_Para]) -> Iterator[tuple[str, _Para]]:
    """Label paragraphs: title, section, skip (caption/byline) or body; joins broken ones."""
    pending: _Joined | None = None
    for para in paras:
        level = heading_level(para.text[:8], len(para.text))
        if pending is not None and not level:
            pending.add(para)
            joined, pending = pending, None
        else:
            if pending is not None:
                yield "body", pending.para()
                pending = None
            joined = None
        if level:
            kind = "title" if level == 1 else f"section{level}"
            yield kind, _Para(heading_title(para.text, level), para.start, para.end)
            continue
        if joined is None:
            kind = _kind(para.text, len(para.text), None)
        else:
            kind = _kind(joined.text() if joined.size <= CAPTION_MAX_CHARS else None,
                         joined.size, joined.open_end)
        if kind == "open":
            pending = joined or _Joined(para)
        else:
            yield kind, para if joined is None else joined.para()
    if pending is not None:
        yield "body", pending.para()


def _merge_headlines(labelled: Iterable[tuple[str, _Para]]) -> Iterator[tuple[str, _Para]]:
    """Consecutive headlines as one (kicker + title), joined with spaces."""
    run: list[_Para] = []
    for kind, para in chain(labelled, [("", None)]):
        if kind == "headline":
            run.append(para)
            continue
        if run:
            yield "headline", _Para(" ".join(p.text for p in run), run[0].start, run[-1].end)
            run = []
        if para is not None:
            yield kind, para


def _resolve_headlines(labelled: Iterable[tuple[str, _Para]]) -> Iterator[tuple[str, _Para]]:
    """A headline is a title first in the text or before a news lead, else a section."""
    seen_text, waiting = False, []
    for kind, para in chain(_merge_headlines(labelled), [("", None)]):
        waiting.append((kind, para))
        if waiting[0][0] == "headline" and kind not in ("body", ""):
            continue  # undecided until the next body paragraph
        lead = kind == "body" and bool(LEAD_RE.match(para.text))
        for kind, para in waiting:
            if kind == "headline":
                kind = "title" if not seen_text or lead else "section"
            seen_text = seen_text or kind in ("body", "title")
            if para is not None:
                yield kind, para
        waiting = []


def chunk_text(text: str, default_title: str = "", max_tokens: int = 200,
               source: str = "", blocks: bool | None = None) -> list[Chunk]:
    """Split a document's text into passages by the rules in this module's docstring.

    Args:
        text: the document text.
        default_title: the title of passages before any article title (e.g. the file stem).
        max_tokens: the estimated token budget of one passage (default 200).
        source: the file name refusals name (default: ``default_title``).
        blocks: whether blank lines separate paragraphs (rule 1; default: when the text has
            two or more blank lines; readers whose format says so pass ``True``).
    Returns:
        Passages in document order; empty when the text has no body paragraphs.
    Raises:
        ValueError: ``max_tokens`` is below 8.
        DocumentError: the text is longer than ``MAX_TEXT_CHARS`` or gives more than
            ``MAX_PASSAGES_PER_DOCUMENT`` passages; the message names ``source``.
    """
    if max_tokens < 8:
        raise ValueError(f"max_tokens must be at least 8, got {max_tokens}")
    name = source or default_title or "the document"
    if len(text) > MAX_TEXT_CHARS:
        raise DocumentError(f"{name}: {len(text):,} characters of text, over the "
                            f"{MAX_TEXT_CHARS:,}-character limit; split it into smaller files")
    title, headings, chunks = default_title, [], []
    section = ""
    for kind, para in _resolve_headlines(_classify(_paragraphs(text, blocks))):
        if kind == "title":  # every passage carries (and embeds) its title and section
            title, headings, section = para.text[:MAX_TITLE_CHARS], [], ""
        elif kind.startswith("section") or kind == "headline":
            depth = kind[len("section"):]
            level = int(depth) if depth.isdigit() else 2
            headings = [(lv, h) for lv, h in headings if lv < level] + [(level, para.text)]
            section = SECTION_JOIN.join(h for _, h in headings)[:MAX_TITLE_CHARS]
        elif kind == "body":
            for piece, start, end in _pieces(para, max_tokens):
                if len(chunks) == MAX_PASSAGES_PER_DOCUMENT:
                    raise DocumentError(
                        f"{name}: more than {MAX_PASSAGES_PER_DOCUMENT:,} passages, over the "
                        f"limit for one document; split it into smaller files")
                chunks.append(Chunk(piece, start, end, title, section))
    return chunks


def _pieces(para: _Para, max_tokens: int) -> Iterator[tuple[str, int, int]]:
    """The passages of one body paragraph (rule 6) with their own spans in the document: each
    piece is found in the paragraph's text after the one before (the paragraph's span when it
    is not found)."""
    pieces = pack_sentences(para.text, max_tokens)
    if len(pieces) == 1:
        yield pieces[0], para.start, para.end
        return
    cursor = 0
    for piece in pieces:
        at = para.text.find(piece[:16], cursor)
        if at < 0:
            yield piece, para.start, para.end
            continue
        end = min(at + len(piece), len(para.text))
        yield piece, para.at(at), para.at(end - 1) + 1
        cursor = at + max(1, len(piece) - 32)

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
   title) and its section heading, if any.

``start``/``end`` are offsets into the document text spanning the passage's source lines; the
passage ``text`` is those lines joined as described (so it can differ from ``text[start:end]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE_END = "。！？；!?;…"
CLOSERS = "”’\"」』）)】》"
COMMA_LIKE = "，,、：:（(“‘「『《—-"
HEADLINE_MAX_CHARS = 40
_SENTENCE_RE = re.compile(
    rf"(?:[^{SENTENCE_END}.]|\.(?![.\s{CLOSERS}]|$))*?(?:[{SENTENCE_END}]+[{CLOSERS}]*|\.+[{CLOSERS}]*(?=\s|$)|$)", re.S
)
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af\U00020000-\U0003134f]")
_MD_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_CAPTION_RE = re.compile(r"(供图|摄)\s*\d*$|图\s*[/／]|摄影[:：\s]|图片来源")
_BYLINE_RE = re.compile(r"^[□■◇◆]|^(?:本报)?(?:记者|通讯员|实习生)\s*\S")
_LEAD_RE = re.compile(r"^(?:本报讯|本报记者|本报[^\s，,]{0,8}电|新华社|中新社|中新网|据.{0,12}报道|[（(【]?记者)")
_COMMAS = "，,"
_STRIP = " \t\u3000\ufeff\xa0"


@dataclass(frozen=True)
class Chunk:
    """A passage before indexing: its text, span in the document, article title and section."""

    text: str
    start: int
    end: int
    title: str
    section: str = ""


@dataclass(frozen=True)
class _Para:
    text: str
    start: int
    end: int


def estimate_tokens(text: str) -> int:
    """Rough model-token count: one per CJK character, one per three other non-space chars."""
    cjk = len(_CJK_RE.findall(text))
    other = len(text) - cjk - sum(ch.isspace() for ch in text)
    return cjk + (other + 2) // 3


def script_of(text: str) -> str:
    """``cjk`` when CJK characters make up at least a fifth of the letters, else ``latin``."""
    cjk = len(_CJK_RE.findall(text))
    letters = sum(ch.isalpha() for ch in text)
    return "cjk" if letters and cjk * 5 >= letters else "latin"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text`` (white space trimmed)."""
    spans = []
    for match in _SENTENCE_RE.finditer(text):
        start, end = match.span()
        while start < end and text[start] in _STRIP + "\n":
            start += 1
        while end > start and text[end - 1] in _STRIP + "\n":
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _lines(text: str) -> list[_Para | None]:
    """Stripped lines with offsets; ``None`` marks a blank line."""
    out, offset = [], 0
    for raw in text.split("\n"):
        stripped = raw.strip(_STRIP)
        if stripped:
            lead = len(raw) - len(raw.lstrip(_STRIP))
            out.append(_Para(stripped, offset + lead, offset + lead + len(stripped)))
        else:
            out.append(None)
        offset += len(raw) + 1
    return out


def _join(left: str, right: str) -> str:
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() \
            and right[0].isalnum():
        return left + " " + right
    return left + right


def _paragraphs(text: str) -> list[_Para]:
    lines = _lines(text)
    blank_blocks = sum(1 for line in lines if line is None) >= 2
    paras: list[_Para] = []
    current: _Para | None = None
    for line in lines + [None]:
        if line is not None and blank_blocks and not _MD_HEADING_RE.match(line.text) and \
                current is not None and not _MD_HEADING_RE.match(current.text):
            current = _Para(_join(current.text, line.text), current.start, line.end)
            continue
        if current is not None:
            paras.append(current)
        current = line
    return paras


def _ends_sentence(text: str) -> bool:
    return text.rstrip(CLOSERS)[-1:] in SENTENCE_END or text.rstrip(CLOSERS).endswith(".")


def is_caption(text: str) -> bool:
    """A photo caption (``… 通讯员 供图``) or picture credit."""
    return len(text) <= 80 and not _ends_sentence(text) and bool(_CAPTION_RE.search(text))


def is_byline(text: str) -> bool:
    """A byline such as ``□记者 樊莹 通讯员 杨磊``."""
    return len(text) <= 40 and not any(ch in text for ch in SENTENCE_END) and \
        bool(_BYLINE_RE.match(text))


def is_headline(text: str) -> bool:
    """A plain-text headline: short, no sentence punctuation, not ending like a clause."""
    return (
        len(text) <= HEADLINE_MAX_CHARS
        and not any(ch in text for ch in SENTENCE_END)
        and not text.endswith(".")
        and text[-1] not in COMMA_LIKE
        and sum(text.count(c) for c in _COMMAS) <= 1
    )


def _classify(paras: list[_Para]) -> list[tuple[str, _Para]]:
    """Label paragraphs: title, section, skip (caption/byline) or body; joins broken ones."""
    labelled: list[tuple[str, _Para]] = []
    pending: _Para | None = None
    for para in paras:
        heading = _MD_HEADING_RE.match(para.text)
        if pending is not None and not heading:
            para = _Para(_join(pending.text, para.text), pending.start, para.end)
            pending = None
        elif pending is not None:
            labelled.append(("body", pending))
            pending = None
        if heading:
            kind = "title" if len(heading.group(1)) == 1 else "section"
            labelled.append((kind, _Para(heading.group(2), para.start, para.end)))
        elif is_caption(para.text) or is_byline(para.text):
            labelled.append(("skip", para))
        elif is_headline(para.text):
            labelled.append(("headline", para))
        elif not _ends_sentence(para.text):
            pending = para
        else:
            labelled.append(("body", para))
    if pending is not None:
        labelled.append(("body", pending))
    return _resolve_headlines(labelled)


def _resolve_headlines(labelled: list[tuple[str, _Para]]) -> list[tuple[str, _Para]]:
    merged: list[tuple[str, _Para]] = []
    for kind, para in labelled:
        if kind == "headline" and merged and merged[-1][0] == "headline":
            prev = merged[-1][1]
            merged[-1] = ("headline", _Para(prev.text + " " + para.text, prev.start, para.end))
        else:
            merged.append((kind, para))
    resolved, seen_text = [], False
    for index, (kind, para) in enumerate(merged):
        if kind == "headline":
            following = next((p for k, p in merged[index + 1:] if k == "body"), None)
            lead = following is not None and _LEAD_RE.match(following.text)
            kind = "title" if not seen_text or lead else "section"
        seen_text = seen_text or kind == "body" or kind == "title"
        resolved.append((kind, para))
    return resolved


def _pieces(para: _Para, max_tokens: int) -> list[str]:
    """The paragraph's text packed into pieces of at most ``max_tokens`` (estimated)."""
    if estimate_tokens(para.text) <= max_tokens:
        return [para.text]
    units: list[str] = []
    for start, end in split_sentences(para.text):
        units.extend(_cut_long(para.text[start:end], max_tokens))
    pieces: list[str] = []
    for unit in units:
        if pieces and estimate_tokens(_join(pieces[-1], unit)) <= max_tokens:
            pieces[-1] = _join(pieces[-1], unit)
        else:
            pieces.append(unit)
    return pieces


def _cut_long(sentence: str, max_tokens: int) -> list[str]:
    if estimate_tokens(sentence) <= max_tokens:
        return [sentence]
    parts = [p for p in re.split(r"(?<=[，,、：:])", sentence) if p]
    if len(parts) == 1:
        return [sentence[i:i + max_tokens] for i in range(0, len(sentence), max_tokens)]
    out: list[str] = []
    for part in parts:
        for piece in _cut_long(part, max_tokens):
            if out and estimate_tokens(out[-1] + piece) <= max_tokens:
                out[-1] += piece
            else:
                out.append(piece)
    return out


def chunk_text(text: str, default_title: str = "", max_tokens: int = 200) -> list[Chunk]:
    """Split a document's text into passages by the rules in this module's docstring.

    Args:
        text: the document text.
        default_title: the title of passages before any article title (e.g. the file stem).
        max_tokens: the estimated token budget of one passage (default 200).
    Returns:
        Passages in document order; empty when the text has no body paragraphs.
    Raises:
        ValueError: ``max_tokens`` is below 8.
    """
    if max_tokens < 8:
        raise ValueError(f"max_tokens must be at least 8, got {max_tokens}")
    title, section, chunks = default_title, "", []
    for kind, para in _classify(_paragraphs(text)):
        if kind == "title":
            title, section = para.text, ""
        elif kind in ("section", "headline"):
            section = para.text
        elif kind == "body":
            for piece in _pieces(para, max_tokens):
                chunks.append(Chunk(piece, para.start, para.end, title, section))
    return chunks

"""What a line of a document is, for the chunker (:mod:`qa.chunking`): a ``#`` heading, a
plain-text headline, a photo caption, a byline, a news lead. Pure predicates on one line.
"""

from __future__ import annotations

import re

from .sentences import CLOSERS, SENTENCE_END

COMMA_LIKE = "，,、：:（(“‘「『《—-"
HEADLINE_MAX_CHARS = 40
CAPTION_MAX_CHARS = 80
_CAPTION_RE = re.compile(r"(供图|摄)\s*\d*$|图\s*[/／]|摄影[:：\s]|图片来源")
_BYLINE_RE = re.compile(r"^[□■◇◆]|^(?:本报)?(?:记者|通讯员|实习生)\s*\S")
LEAD_RE = re.compile(r"^(?:本报讯|本报记者|本报[^\s，,]{0,8}电|新华社|中新社|中新网|据.{0,12}报道|[（(【]?记者)")
_COMMAS = "，,"


def last_open_char(text: str) -> str:
    """The last character before any closing quotes or brackets; ``""`` when there is none."""
    index = len(text)
    while index and text[index - 1] in CLOSERS:
        index -= 1
    return text[index - 1] if index else ""


def ends_sentence(open_end: str) -> bool:
    return open_end in SENTENCE_END or open_end == "."  # "" (only closers) counts, as it did


def heading_level(head: str, size: int) -> int:
    """Level of a ``#`` heading (``#{1,6}``, white space, text; a closing ``#`` run is cut)
    from its first 8 characters and its length; 0 when it is not one."""
    level = len(head) - len(head.lstrip("#"))
    return level if 1 <= level <= 6 and size >= level + 2 and head[level].isspace() else 0


def heading_title(text: str, level: int) -> str:
    """The title of a heading line: white space after the hashes and a closing ``#`` run cut."""
    first = level
    while first < len(text) and text[first].isspace():
        first += 1
    first = min(first, len(text) - 1)
    tail = len(text)
    while tail > 0 and text[tail - 1] == "#":
        tail -= 1
    while tail > 0 and text[tail - 1].isspace():
        tail -= 1
    return text[first:max(first + 1, tail)]


def is_caption(text: str) -> bool:
    """A photo caption (``… 通讯员 供图``) or picture credit."""
    return len(text) <= CAPTION_MAX_CHARS and not ends_sentence(last_open_char(text)) and \
        bool(_CAPTION_RE.search(text))


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

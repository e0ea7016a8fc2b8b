"""Tables as text, one home for the format every reader uses (DOCX, HTML, Markdown, XLSX, CSV,
PPTX): each data row becomes one line, one sentence that carries its header.

A row is ``header：value`` pairs joined by ``，`` and ended by ``。`` in a CJK table
(``Header: value, Header: value.`` in a Latin one, without CJK characters in its first rows),
e.g. header ``[项目, 2022年, 2023年]`` and row ``[营业收入, 100亿元, 120亿元]`` give
``项目：营业收入，2022年：100亿元，2023年：120亿元。``. A row so
ends a sentence: the chunker (:mod:`qa.chunking`) never takes it for a headline nor joins it to
the next paragraph, and packs the rows of a table (the lines of one blank-line block) into
passages by whole rows, each row keeping its header.

- **Header.** Given by the format (``<th>``/``<thead>``, a Markdown table, Word's repeated header
  rows; up to four header rows are joined per column), else guessed: the first row is the header
  when its cells are distinct and none is a number (a year such as ``2023年`` does not count)
  while, in some column, at least half of the later cells of the first rows are numbers. Else
  it is a row like the others, its cells joined plainly (``营业收入，100亿元。``).
- **Title rows.** Leading rows with one filled cell in a wider table (a merged title) are
  written plainly before the header is looked for.
- **Cells.** White space is collapsed (multi-line cells); empty cells are skipped; a cell under
  an empty header, or equal to it, is written alone; a pair equal to the one before it (a
  merged cell) is written once; a cell that ends a sentence is followed by no comma; a row
  equal to the header (a repeated header) is skipped. A cell spanning columns labels all of
  them in a header row and is written once in a data row.
- **Wide rows.** A row over :data:`ROW_TOKENS` estimated tokens is written as several sentences
  on its line, each after the first opening with the row's first pair, so that no passage
  holds a value without its row.

Work is linear in the cells; a table keeps at most :data:`SAMPLE_ROWS` rows before writing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from .layout import ends_sentence, last_open_char
from .sentences import estimate_tokens
from .text import CJK_RE

__all__ = ["ROW_TOKENS", "SAMPLE_ROWS", "Table", "collapse", "is_number", "sentence"]

ROW_TOKENS = 120
"""A row longer than this (estimated tokens) is cut into sentences that repeat its first pair:
well under a passage's default 200, so a passage holds whole pieces."""
SAMPLE_ROWS = 20
"""Rows read before the header is guessed (and the table's script decided)."""
_HEADER_COLUMNS = 16_384  # columns a header labels at most (Excel's width)
_HEADER_ROWS = 4  # header rows given by the format joined at most; later ones are rows
_NUMBER = re.compile(r"[-+−±~≈约]?[(（]?[-−]?[¥$€£￥]?\s*\d[\d,，.]*(?:[eE][-+]?\d+)?\s*"
                     r"(?:%|％|‰)?[)）]?\s*[^\d\s]{0,3}")
_YEAR = re.compile(r"(?:FY\s*)?(?:1[89]|20)\d\d\s*(?:年度?|年末|年初|财年|[HhQq][1-4]|[EA])?")
_CJK, _LATIN = ("：", "，", "。", ""), (": ", ", ", ".", " ")  # colon, comma, end, after an end

Cells = Sequence[Any]
"""A row: its cells in column order (``str`` or ``None``), or ``(column, text)`` /
``(column, text, span)`` tuples where cells are placed (spans, merged cells)."""


def collapse(text: Any) -> str:
    """A cell's text with its white space collapsed (``None``: ``""``)."""
    return " ".join(str(text).split()) if text is not None else ""


def is_number(text: str, years: bool = True) -> bool:
    """Whether a cell is a number, with a sign, currency, percent or a short unit
    (``120亿元``, ``-3.5%``, ``(1,234)``); ``years=False``: a year (``2023``, ``2023年``) is not."""
    if not _NUMBER.fullmatch(text):
        return False
    return years or not _YEAR.fullmatch(text)


def sentence(text: str, cjk: bool | None = None) -> str:
    """``text`` (white space collapsed) ended as a sentence: ``。`` (CJK) or ``.`` added unless
    it ends one already; ``""`` when empty. ``cjk`` ``None``: CJK when it holds a CJK
    character."""
    text = collapse(text)
    if not text or ends_sentence(last_open_char(text)):
        return text
    cjk = bool(CJK_RE.search(text)) if cjk is None else cjk
    return text + (_CJK if cjk else _LATIN)[2]


class Table:
    """One table being written, row by row (see the module doc).

    ``add`` and ``finish`` return the lines ready so far as ``(key, line)``, ``key`` being what
    the caller passed with the row (a spreadsheet's row number, for place marks). Lines come
    in row order; the first :data:`SAMPLE_ROWS` rows wait until the header is decided.

    Args:
        guess: guess the header when the format gives none (default True).
    """

    def __init__(self, guess: bool = True):
        self.guess = guess
        self.header: dict[int, str] | None = None
        self._given: list[tuple[Any, list]] = []  # header rows given by the format
        self._waiting: list[tuple[Any, list]] = []
        self._decided = False
        self._cjk = False
        self._wrote = False

    def add(self, cells: Cells, key: Any = None, header: bool = False) -> list[tuple[Any, str]]:
        """Add a row; ``header``: the format marks it a header row (honoured before the first
        data row)."""
        row = _placed(cells)
        if not any(text for _, text, _ in row):
            return []
        if header and not self._decided and not self._waiting and \
                len(self._given) < _HEADER_ROWS:
            self._given.append((key, row))
            return []
        if self._decided:
            return self._lines([(key, row)])
        self._waiting.append((key, row))
        return self._decide() if len(self._waiting) >= SAMPLE_ROWS else []

    def finish(self) -> list[tuple[Any, str]]:
        """The lines still waiting; a header that labelled no row is written plainly."""
        lines = [] if self._decided else self._decide()
        if self.header and not self._wrote:
            key = self._given[0][0] if self._given else None
            lines += self._lines([(key, [(col, text, 1) for col, text in self.header.items()])],
                                 plain=True)
        return lines

    def _decide(self) -> list[tuple[Any, str]]:
        self._decided = True
        given, rows = self._given, self._waiting
        texts = (text for _, row in given + rows for _, text, _ in row)
        self._cjk = any(CJK_RE.search(text) for text in texts)
        width = max((_filled(row) for _, row in given + rows), default=0)
        titles = []  # leading rows with one filled cell in a wider table
        source = given if given else rows
        while source and len(titles) < 3 and width > 1 and _filled(source[0][1]) == 1 and \
                len(source) + (len(rows) if given else 0) > 1:
            titles.append(source.pop(0))
        if given:
            self.header = _header(row for _, row in given)
        elif self.guess and len(rows) > 1 and _looks_like_header(rows[0][1], rows[1:]):
            self.header = _header([rows.pop(0)[1]])
        self._waiting = []
        return self._lines(titles, plain=True) + self._lines(rows)

    def _lines(self, rows: Iterable[tuple[Any, list]], plain: bool = False) -> list:
        marks = _CJK if self._cjk else _LATIN
        header = None if plain else self.header
        lines = []
        for key, row in rows:
            if header and all(header.get(col) == text for col, text, _ in row if text):
                continue  # the header again (a long table's repeated header)
            line = _row_text(row, header, marks)
            if line:
                lines.append((key, line))
                self._wrote = True
        return lines


def _placed(cells: Cells) -> list[tuple[int, str, int]]:
    """``(column, text, span)`` of each cell, text collapsed."""
    row = []
    for index, cell in enumerate(cells):
        if isinstance(cell, tuple):
            column, text, span = (cell + (1,))[:3]
            row.append((column, collapse(text), max(1, span)))
        else:
            row.append((index, collapse(cell), 1))
    return row


def _filled(row: list) -> int:
    return sum(1 for _, text, _ in row if text)


def _header(rows: Iterable[list]) -> dict[int, str]:
    """Column labels from header rows: a spanning cell labels each column it spans; labels of
    several rows are joined with a space."""
    header: dict[int, str] = {}
    for row in rows:
        for column, text, span in row:
            if not text:
                continue
            for col in range(column, column + span):
                if len(header) >= _HEADER_COLUMNS and col not in header:
                    break
                old = header.get(col)
                header[col] = text if not old or old == text else f"{old} {text}"
    return header


def _looks_like_header(first: list, later: list) -> bool:
    """No number, distinct cells, and some column with numbers in at least half its later
    cells (years count there)."""
    labels = {col: text for col, text, _ in first if text}
    if len(set(labels.values())) < len(labels) or \
            any(is_number(text, years=False) for text in labels.values()):
        return False
    numbers: dict[int, list[int]] = {}
    for _, row in later:
        for col, text, _ in row:
            if text and col in labels:
                counts = numbers.setdefault(col, [0, 0])
                counts[0] += is_number(text)
                counts[1] += 1
    return any(count * 2 >= total for count, total in numbers.values() if count)


def _row_text(row: list, header: dict[int, str] | None, marks: tuple[str, ...]) -> str:
    colon, comma, end, after_end = marks
    pairs, last = [], None
    for column, text, _ in row:
        if not text:
            continue
        label = header.get(column, "") if header else ""
        if (label, text) == last:
            continue  # a merged cell written again
        last = (label, text)
        pairs.append(f"{label}{colon}{text}" if label and label != text else text)
    if not pairs:
        return ""
    if len(pairs) > 1 and estimate_tokens("".join(pairs)) > ROW_TOKENS:
        return after_end.join(_sentences(pairs, marks))
    return _sentence(pairs, marks)


def _sentence(pairs: list[str], marks: tuple[str, ...]) -> str:
    colon, comma, end, after_end = marks
    parts = []
    for pair in pairs:
        if parts:
            parts.append(after_end if ends_sentence(last_open_char(parts[-1])) else comma)
        parts.append(pair)
    text = "".join(parts)
    return text if ends_sentence(last_open_char(text)) else text + end


def _sentences(pairs: list[str], marks: tuple[str, ...]) -> list[str]:
    """A wide row as sentences under ``ROW_TOKENS`` each, each after the first opening with
    the row's first pair."""
    first, groups, size = pairs[0], [[pairs[0]]], estimate_tokens(pairs[0])
    for pair in pairs[1:]:
        tokens = estimate_tokens(pair)
        if size + tokens > ROW_TOKENS and len(groups[-1]) > 1:
            groups.append([first])
            size = estimate_tokens(first)
        groups[-1].append(pair)
        size += tokens
    return [_sentence(group, marks) for group in groups]

"""The visible text of an HTML page, in one pass over its tree (time linear in its size).

Blocks are the ``h1``-``h6``, ``p``, ``li``, ``td``, ``pre``, ``blockquote``, ``figcaption``,
``div``, ``section``, ``article`` and ``body`` elements that hold none of the others (those that
do are containers: their children are taken one by one, their own loose text is not). Each block
is one paragraph with its white space collapsed; ``<h1>`` becomes a ``# `` line, ``<h2>``-``<h6>``
a ``## `` line. ``script``, ``style``, ``noscript``, ``template``, ``head``, ``svg`` and
``iframe`` are hidden; the ``<title>`` in ``<head>`` is the first ``# `` line when the page has
no ``<h1>``. Pages nested deeper than :data:`qa.limits.MAX_HTML_DEPTH` elements are refused
(browsers stop at about the same depth), as is text over :data:`qa.limits.MAX_TEXT_CHARS`.

A ``<table>`` is its ``<caption>`` as a paragraph, then its rows as one block in the format of
:mod:`qa.tables` (header: a first row of ``<th>`` or in ``<thead>``, else guessed); a cell is
all its visible text (tables in it flattened), ``colspan``/``rowspan`` place cells as browsers
do (a cell spanning rows gives its text to each; a table whose rowspans would cost more
than a few steps per cell keeps them no further). A table with a heading in it lays out a page:
it is read as blocks, as above.
"""

from __future__ import annotations

import functools

from .errors import DocumentError
from .limits import MAX_HTML_DEPTH, MAX_TEXT_CHARS
from .tables import Table

_CONTAINERS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre", "div",
                         "blockquote", "section", "article", "figcaption"])
_BLOCKS = _CONTAINERS | {"body"}
_HIDDEN = frozenset(["script", "style", "noscript", "template", "head", "svg", "iframe"])
_HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
_TABLE_PARTS = frozenset(["tr", "td", "th", "thead", "caption"])
_MAX_COLSPAN, _MAX_ROWSPAN = 1000, 65534  # browsers' limits
_SPAN_STEPS, _SPAN_STEPS_PER_CELL = 100_000, 8  # rowspans cost at most this (linear time)


def html_to_text(html: str, name: str = "<html>") -> str:
    """Visible text of an HTML page as blank-line separated paragraphs (see the module doc).

    Args:
        html: the page's markup.
        name: the file name, for messages.
    Returns:
        The text; ``""`` when the page has none.
    Raises:
        DocumentError: elements nested deeper than ``MAX_HTML_DEPTH``, or more text than
            ``MAX_TEXT_CHARS``.
    """
    from bs4 import NavigableString, Tag
    from bs4.element import CData

    texts = {NavigableString, CData}  # what get_text() reads: no comments, scripts, ruby text
    try:
        soup = _depth_limited_soup()(html, "html.parser")
    except _TooDeep:
        raise _too_deep(name) from None
    blocks: list[str | None] = []
    strings: list[str] = []  # each string's words, in document order
    hidden: list[tuple[str | None, bool]] = []  # (head's title text, holds an h1) per hidden
    visible_h1, size, table, nested = False, 0, None, 0
    # A frame: [tag, its children, block slot or -1, first string, holds a container, the
    # list the slot is in, its role in the outermost table or None]
    stack = [[soup, iter(soup.contents), -1, 0, False, blocks, None]]
    while stack:
        frame = stack[-1]
        child = next(frame[1], None)
        if child is None:
            stack.pop()
            tag, slot, first, holds_container, out, role = frame[0], *frame[2:]
            if slot >= 0 and not holds_container:
                text = " ".join(strings[first:])
                if text:
                    prefix = "# " if tag.name == "h1" else "## " if tag.name[0] == "h" else ""
                    out[slot] = prefix + text
                    if table is None:
                        size += len(out[slot]) + 2
                    else:
                        table.size += len(out[slot]) + 2
            if role is not None:
                size = _table_part(table, role, tag, strings, first, size, blocks)
                if role == "table":
                    table = None
                elif role == "nested":
                    nested -= 1
            if size + (_table_size(table) if table else 0) > MAX_TEXT_CHARS:
                raise DocumentError(f"{name}: text over the {MAX_TEXT_CHARS:,}-character "
                                    "limit; split it into smaller files")
            if stack:
                stack[-1][4] = stack[-1][4] or holds_container or tag.name in _CONTAINERS
        elif isinstance(child, Tag):
            if len(stack) > MAX_HTML_DEPTH:
                raise _too_deep(name)
            tag_name = child.name
            if tag_name in _HIDDEN:
                hidden.append(_hidden_subtree(child, len(stack), texts, name))
                continue
            visible_h1 = visible_h1 or tag_name == "h1"
            role = None
            if tag_name == "table" and table is None:
                table, role = _HtmlTable(len(blocks)), "table"
                blocks.append(None)
            elif table is not None:
                if tag_name == "table":
                    nested, role = nested + 1, "nested"
                elif nested == 0 and tag_name in _TABLE_PARTS:
                    role = tag_name
                    _table_start(table, child)
                table.layout = table.layout or tag_name in _HEADINGS
            slot, out = -1, table.blocks if table is not None else blocks
            if tag_name in _BLOCKS:
                slot = len(out)
                out.append(None)
            stack.append([child, iter(child.contents), slot, len(strings), False, out, role])
        elif type(child) in texts:
            words = child.split()
            if words:
                strings.append(" ".join(words))
    title = None if visible_h1 else _page_title(hidden)
    return "\n\n".join(([f"# {title}"] if title else []) + [b for b in blocks if b is not None])


class _HtmlTable:
    """The outermost table being read: its rows as :class:`qa.tables.Table` lines, and the
    blocks it gives read as before tables were (kept in case it is a layout table)."""

    __slots__ = ("slot", "blocks", "size", "rows", "lines", "rows_size", "layout", "cells",
                 "spans", "budget", "head", "caption")

    def __init__(self, slot: int):
        self.slot, self.blocks, self.size, self.layout = slot, [], 0, False
        self.rows, self.lines, self.rows_size = Table(), [], 0
        self.cells: list | None = None  # the row being read: (text, colspan, rowspan, th)
        self.spans: list[list] | None = []  # cells spanning down: [column, colspan, text, rows
        self.budget = _SPAN_STEPS  # left]; None once the budget of span steps is spent
        self.head, self.caption = 0, ""


def _table_size(table: _HtmlTable) -> int:
    """The text the table being read may add: rows or blocks (which is not known yet)."""
    return table.size if table.layout else max(table.size, table.rows_size)


def _span(tag, attribute: str, most: int) -> int:
    """A ``colspan``/``rowspan`` as browsers read it: a number, at most ``most``; ``rowspan=0``
    (to the end of the table) is ``most``."""
    value = tag.get(attribute)
    try:
        number = int(str(value).strip()) if value is not None else 1
    except ValueError:
        return 1
    return most if number == 0 and attribute == "rowspan" else min(max(number, 1), most)


def _table_start(table: _HtmlTable, tag) -> None:
    if tag.name == "tr":
        _end_row(table)
        table.cells = []
    elif tag.name in ("td", "th") and table.cells is None:
        table.cells = []  # a cell outside any row starts one
    elif tag.name == "thead":
        table.head += 1


def _table_part(table: _HtmlTable, role: str, tag, strings: list, first: int, size: int,
                blocks: list) -> int:
    """A part of the outermost table ends: a cell, a row, the head, the caption, the table
    itself (its text then goes into its slot). Returns the page's text size so far."""
    if role in ("td", "th") and table.cells is not None:
        table.cells.append((" ".join(strings[first:]), _span(tag, "colspan", _MAX_COLSPAN),
                            _span(tag, "rowspan", _MAX_ROWSPAN), role == "th"))
    elif role == "tr":
        _end_row(table)
    elif role == "thead":
        _end_row(table)
        table.head -= 1
    elif role == "caption":
        table.caption = " ".join(strings[first:])
    elif role == "table":
        _end_row(table)
        if table.layout:  # read as before: its cells' blocks
            blocks.pop()
            blocks.extend(table.blocks)
            return size + table.size
        table.lines += table.rows.finish()
        parts = [table.caption] if table.caption else []
        if table.lines:
            parts.append("\n".join(line for _, line in table.lines))
        if parts:
            blocks[table.slot] = "\n\n".join(parts)
            size += len(blocks[table.slot]) + 2
    return size


def _end_row(table: _HtmlTable) -> None:
    """Place the row's cells in columns (cells spanning down from rows above take theirs) and
    write it."""
    cells, table.cells = table.cells, None
    if cells is None or table.layout:
        return
    placed, spans, column, index, new = [], table.spans or [], 0, 0, []
    for text, colspan, rowspan, _ in cells:
        while index < len(spans) and spans[index][0] <= column:
            start, width, above, _ = spans[index]
            placed.append((start, above, width))
            column, index = max(column, start + width), index + 1
        placed.append((column, text, colspan))
        if rowspan > 1:
            new.append([column, colspan, text, rowspan - 1])
        column += colspan
    placed += [(start, above, width) for start, width, above, _ in spans[index:]]
    if table.spans is not None:  # each row may take spans as many steps as it has cells, and
        table.budget += _SPAN_STEPS_PER_CELL * len(cells) - len(spans)  # a reserve
        table.spans = sorted([[*span[:3], span[3] - 1] for span in spans if span[3] > 1] + new) \
            if table.budget > 0 else None  # spent (hostile rowspans): no more spans down
    header = table.head > 0 or bool(cells) and all(th for *_, th in cells)
    written = table.rows.add(placed, header=header)
    table.lines += written
    table.rows_size += sum(len(line) + 1 for _, line in written)


class _TooDeep(Exception):
    pass


@functools.lru_cache(maxsize=1)
def _depth_limited_soup():
    """BeautifulSoup that stops building the tree once it is too deep (the walk checks too)."""
    from bs4 import BeautifulSoup

    class DepthLimitedSoup(BeautifulSoup):
        def pushTag(self, tag) -> None:  # bs4's hook for each opened element
            super().pushTag(tag)
            if len(self.tagStack) > MAX_HTML_DEPTH + 1:  # the stack holds the soup itself too
                raise _TooDeep

    return DepthLimitedSoup


def _too_deep(name: str) -> DocumentError:
    return DocumentError(f"{name}: HTML elements nested more than {MAX_HTML_DEPTH} deep, over "
                         "the limit; save the page again or as text")


def _hidden_subtree(element, depth: int, texts: set, name: str) -> tuple[str | None, bool]:
    """``(title text if ``element`` is a head with a non-empty <title>, whether it holds an
    <h1>)``, walking the subtree once."""
    from bs4 import Tag

    title, holds_h1, title_strings = None, False, None
    stack = [iter(element.contents)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            if title_strings is not None and title is None and len(stack) == title_depth:
                title = " ".join(title_strings)
                title_strings = None
        elif isinstance(child, Tag):
            if depth + len(stack) > MAX_HTML_DEPTH:
                raise _too_deep(name)
            holds_h1 = holds_h1 or child.name == "h1"
            if child.name == "title" and title is None and title_strings is None and \
                    element.name == "head":
                title_strings, title_depth = [], len(stack)
            stack.append(iter(child.contents))
        elif title_strings is not None and type(child) in texts:
            title_strings.extend(child.split())
    return title, holds_h1


def _page_title(hidden: list[tuple[str | None, bool]]) -> str | None:
    """The first head's title that no <h1> still in the page stands against. Hidden elements
    are removed in document order, so an <h1> hidden in an earlier one no longer counts."""
    h1_from = [False] * (len(hidden) + 1)
    for index in range(len(hidden) - 1, -1, -1):
        h1_from[index] = h1_from[index + 1] or hidden[index][1]
    for index, (title, _) in enumerate(hidden):
        if title and not h1_from[index]:
            return title
    return None

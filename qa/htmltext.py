"""The visible text of an HTML page, in one pass over its tree (time linear in its size).

Blocks are the ``h1``-``h6``, ``p``, ``li``, ``td``, ``pre``, ``blockquote``, ``figcaption``,
``div``, ``section``, ``article`` and ``body`` elements that hold none of the others (those that
do are containers: their children are taken one by one, their own loose text is not). Each block
is one paragraph with its white space collapsed; ``<h1>`` becomes a ``# `` line, ``<h2>``-``<h6>``
a ``## `` line. ``script``, ``style``, ``noscript``, ``template``, ``head``, ``svg`` and
``iframe`` are hidden; the ``<title>`` in ``<head>`` is the first ``# `` line when the page has
no ``<h1>``. Pages nested deeper than :data:`qa.limits.MAX_HTML_DEPTH` elements are refused
(browsers stop at about the same depth), as is text over :data:`qa.limits.MAX_TEXT_CHARS`.
"""

from __future__ import annotations

import functools

from .errors import DocumentError
from .limits import MAX_HTML_DEPTH, MAX_TEXT_CHARS

_CONTAINERS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre", "div",
                         "blockquote", "section", "article", "figcaption"])
_BLOCKS = _CONTAINERS | {"body"}
_HIDDEN = frozenset(["script", "style", "noscript", "template", "head", "svg", "iframe"])


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
    visible_h1, size = False, 0
    # A frame: [tag, its children, block slot or -1, first string, holds a container]
    stack = [[soup, iter(soup.contents), -1, 0, False]]
    while stack:
        frame = stack[-1]
        child = next(frame[1], None)
        if child is None:
            stack.pop()
            tag, slot, first, holds_container = frame[0], frame[2], frame[3], frame[4]
            if slot >= 0 and not holds_container:
                text = " ".join(strings[first:])
                if text:
                    prefix = "# " if tag.name == "h1" else "## " if tag.name[0] == "h" else ""
                    blocks[slot] = prefix + text
                    size += len(blocks[slot]) + 2
                    if size > MAX_TEXT_CHARS:
                        raise DocumentError(f"{name}: text over the {MAX_TEXT_CHARS:,}-"
                                            "character limit; split it into smaller files")
            if stack:
                stack[-1][4] = stack[-1][4] or holds_container or tag.name in _CONTAINERS
        elif isinstance(child, Tag):
            if len(stack) > MAX_HTML_DEPTH:
                raise _too_deep(name)
            if child.name in _HIDDEN:
                hidden.append(_hidden_subtree(child, len(stack), texts, name))
                continue
            visible_h1 = visible_h1 or child.name == "h1"
            slot = -1
            if child.name in _BLOCKS:
                slot = len(blocks)
                blocks.append(None)
            stack.append([child, iter(child.contents), slot, len(strings), False])
        elif type(child) in texts:
            words = child.split()
            if words:
                strings.append(" ".join(words))
    title = None if visible_h1 else _page_title(hidden)
    return "\n\n".join(([f"# {title}"] if title else []) + [b for b in blocks if b is not None])


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

"""Ruled tables of PDF pages, read by pdfplumber as rows that keep their header.

A page whose content draws at least :data:`MIN_RULES` rectangles or
line segments (a cheap scan of its content streams, forms included) is searched for tables
by pdfplumber's line-based ``find_tables`` (tables are never guessed from text alignment).
Each table of at least two rows and two columns is written as rows that carry their header
(:class:`qa.tables.Table`, a blank-line block), in place of its region; the page's other text
then comes from pdfplumber too, in blocks placed above, between and below the tables by
their top coordinate. Every other page keeps pypdf's text unchanged. Any pdfplumber failure on
a page (or on the file) leaves that page's pypdf text, and so does a result that reads worse
(``(cid:n)`` glyphs, garbled or much shorter text); without pdfplumber installed every page
keeps pypdf's text (logged once).
"""

from __future__ import annotations

import io
import logging
import re
import time
from bisect import bisect_right

from .documents import _clean
from .text import CJK

log = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")
MIN_RULES = 3
"""A page is searched for ruled tables only when its content streams draw at least this many
rectangles (``re``) or line segments (``l``): a frame and one rule each way make the smallest
table of two rows and two columns."""
MAX_GRID = 5_000
"""A page whose horizontal rules (collinear touching segments joined) times its vertical ones
exceed this is not searched: pdfplumber's cell search grows with the square of the rules'
crossings (5,000 crossings take about 0.6 s); a table of 100 rows and 20 columns has 2,121."""
TABLE_SECONDS = 30.0
"""Time spent on one document's tables at most: pages after it keep pypdf's text."""
_RULE = re.compile(rb"\s(?:re|l)(?=[\s/\[<(%]|\Z)")  # the re and l operators, by their tokens
_RULE_BYTES = 1 << 24  # content bytes scanned per page at most (forms included)
_FORM_DEPTH = 3  # forms inside forms scanned at most this deep
_WIDE = re.compile(f"[{CJK}\u3000-\u303f\uff00-\uffef]")  # no space next to them
_CID = "(cid:"  # pdfminer's stand-in for a glyph it cannot map to text
_plumber_missing = False  # logged once per process


def ruled(page, name: str, index: int) -> bool:
    """Whether a page's content streams (and the forms they draw, :data:`_FORM_DEPTH` deep)
    hold at least :data:`MIN_RULES` ``re``/``l`` operators; ``False`` when they cannot be read.
    A ``re`` or ``l`` inside a text string counts too: it costs a search, never text."""
    try:
        contents = page.get_contents()
        if contents is None:
            return False
        found, budget = 0, _RULE_BYTES
        streams, seen = [(contents.get_data(), page.get("/Resources"), 0)], set()
        while streams:
            data, resources, depth = streams.pop()
            data = data[:budget]
            budget -= len(data)
            found += len(_RULE.findall(data))
            if found >= MIN_RULES:
                return True
            if budget <= 0 or depth >= _FORM_DEPTH or b"Do" not in data:
                continue
            resources = resources.get_object() if resources is not None else None
            forms = resources.get("/XObject") if resources is not None else None
            for ref in (forms.get_object().values() if forms is not None else ()):
                key = getattr(ref, "idnum", None) or id(ref)
                form = ref.get_object()
                if key in seen or form.get("/Subtype") != "/Form":
                    continue
                seen.add(key)
                streams.append((form.get_data(), form.get("/Resources"), depth + 1))
    except Exception as exc:  # a broken stream or resource: no search
        log.debug("%s: page %d: cannot scan its drawing for rules (%s: %s)", name, index + 1,
                  type(exc).__name__, exc)
    return False


def _plumber():
    """pdfplumber's ``open``, its ``Page`` and pdfminer's ``PDFPage``; ``None`` when they cannot
    be imported (logged once per process)."""
    global _plumber_missing
    try:
        import pdfplumber
        from pdfminer.pdfpage import PDFPage
        from pdfplumber.page import Page
    except Exception as exc:  # ImportError, or a broken install of pdfminer.six's needs
        if not _plumber_missing:
            _plumber_missing = True
            log.warning("PDF tables are read as plain text: pdfplumber is unavailable (%s: %s); "
                        "pip install pdfplumber", type(exc).__name__, exc)
        return None
    return pdfplumber.open, Page, PDFPage


def table_pages(data: bytes, name: str, indexes: list[int], texts: list[str],
                 count: int) -> dict[int, str]:
    """``{page index: text with its tables as rows}`` for those of ``indexes`` (pages from 0,
    ``texts`` their pypdf text, ``count`` pypdf's page count) where pdfplumber finds a ruled
    table worth writing; a page that fails or reads worse is left out (its pypdf text stays),
    and so is every page when pdfplumber cannot open the file or counts other pages."""
    plumber = _plumber()
    if plumber is None:
        return {}
    open_pdf, Page, PDFPage = plumber
    try:
        document = open_pdf(io.BytesIO(data))
    except Exception as exc:  # pdfminer raises many types on broken files
        log.info("%s: pdfplumber cannot open this PDF, its tables are read as plain text "
                 "(%s: %s)", name, type(exc).__name__, exc)
        return {}
    found, deadline = {}, time.monotonic() + TABLE_SECONDS
    try:
        try:  # pdfminer's pages; pdfplumber's are made one by one (one may be broken)
            listed = list(PDFPage.create_pages(document.doc))
        except Exception as exc:
            log.info("%s: pdfplumber cannot list the pages, tables are read as plain text "
                     "(%s: %s)", name, type(exc).__name__, exc)
            return {}
        if len(listed) != count:
            log.info("%s: pdfplumber finds %d pages where pypdf finds %d: tables are read as "
                     "plain text", name, len(listed), count)
            return {}
        for done, index in enumerate(indexes):
            if time.monotonic() > deadline:
                log.info("%s: tables searched for %.0f s; pages %s are read without tables",
                         name, TABLE_SECONDS, [i + 1 for i in indexes[done:]])
                break
            page = None
            try:
                page = Page(document, listed[index], page_number=index + 1, initial_doctop=0)
                text = _page_with_tables(page, name, index)
            except Exception as exc:  # pdfminer and pdfplumber raise many types
                log.info("%s: page %d: pdfplumber failed, its text is read without tables "
                         "(%s: %s)", name, index + 1, type(exc).__name__, exc)
                continue
            finally:
                if page is not None:
                    _close(page)
            if text is None:
                continue
            text = _clean(text)
            worse = _worse(text, texts[index])
            if worse:
                log.info("%s: page %d: the text around its tables %s, read without tables",
                         name, index + 1, worse)
                continue
            found[index] = text
    finally:
        _close(document)
    if found:
        log.debug("%s: tables written as rows on pages %s", name, [i + 1 for i in found])
    return found


def _close(thing) -> None:
    try:
        thing.close()
    except Exception:  # closing frees caches; a failure there changes nothing read
        pass


def _worse(text: str, layer: str) -> str:
    """Why pdfplumber's text of a page reads worse than pypdf's ``layer`` (``""``: it does
    not): glyphs without text (``(cid:n)``), garbled, or under half its characters."""
    from .ocr import garbled

    if _CID in text and _CID not in layer:
        return "holds glyphs without text"
    if garbled(text) and not garbled(layer):
        return "is garbled"
    if 2 * len(_SPACE.sub("", text)) < len(_SPACE.sub("", layer)):
        return "misses much of the text layer"
    return ""


def _page_with_tables(page, name: str, index: int) -> str | None:
    """A pdfplumber page's text with its ruled tables (two rows and two columns at least) as
    blocks of rows, each where its top is; ``None`` when it has no such table or too many
    rules (:data:`MAX_GRID`)."""
    grid = _grid(page.edges)
    if grid > MAX_GRID:
        log.info("%s: page %d: %d crossings of rules, over %d: read without tables", name,
                 index + 1, grid, MAX_GRID)
        return None
    tables = []
    for table in page.find_tables():  # the default strategy: lines (ruled tables only)
        lines = _table_lines(table)
        if lines:
            tables.append((table.bbox, lines))
    if not tables:
        return None
    tables.sort(key=lambda found: (found[0][1], found[0][0]))
    boxes = [box for box, _ in tables]
    tops = [box[1] for box in boxes]

    def outside(obj) -> bool:
        x, y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x < x1 and top <= y < bottom for x0, top, x1, bottom in boxes)

    def slot(obj) -> int:  # how many tables start above the object
        return bisect_right(tops, (obj["top"] + obj["bottom"]) / 2)

    rest = page.filter(lambda obj: obj.get("object_type") == "char" and outside(obj))
    blocks = []
    for index in range(len(tables) + 1):
        part = rest.filter(lambda obj, index=index: slot(obj) == index).extract_text()
        if part.strip():
            blocks.append(part.strip("\n"))
        if index < len(tables):
            blocks.append("\n".join(tables[index][1]))
    return "\n\n".join(blocks)


def _grid(edges) -> int:
    """The horizontal rules times the vertical ones, segments on one line (to the point) that
    touch or overlap counted as one: at least the crossings pdfplumber would search."""
    lines: dict[str, dict[int, list]] = {"h": {}, "v": {}}
    for edge in edges:
        if edge.get("orientation") == "h":
            lines["h"].setdefault(round(edge["top"]), []).append((edge["x0"], edge["x1"]))
        elif edge.get("orientation") == "v":
            lines["v"].setdefault(round(edge["x0"]), []).append((edge["top"], edge["bottom"]))
    counts = []
    for groups in lines.values():
        count = 0
        for spans in groups.values():
            end = None
            for start, stop in sorted(spans):
                if end is None or start > end + 3:  # pdfplumber joins within 3 pt
                    count, end = count + 1, stop
                else:
                    end = max(end, stop)
        counts.append(count)
    return counts[0] * counts[1]


def _table_lines(table) -> list[str]:
    """A pdfplumber table's rows in the format of :mod:`qa.tables` (``[]`` under two rows or
    two columns): a cell spanning columns is placed with its span; one spanning rows gives its
    text to each row it spans. When first-row cells span rows and those rows hold no number
    while later rows do, they are the header rows."""
    from .tables import Table, is_number

    rows, texts = table.rows, table.extract()
    columns = sorted({cell[0] for row in rows for cell in row.cells if cell})
    tops = [row.bbox[1] for row in rows]
    if len(rows) < 2 or len(columns) < 2:
        return []
    placed, down, head = [], {}, 1  # down: column -> [text, rows left, span]
    for row, row_texts in zip(rows, texts):
        cells = []
        for column, (box, text) in enumerate(zip(row.cells, row_texts)):
            if box is None:
                if down.get(column, [None, 0])[1] > 0:
                    carried = down[column]
                    carried[1] -= 1
                    cells.append((column, carried[0], carried[2]))
                continue
            text = _cell_text(text)
            span = max(1, sum(box[0] <= x < box[2] for x in columns))
            below = sum(box[1] < top < box[3] for top in tops)
            down[column] = [text, below, span]
            cells.append((column, text, span))
        if not placed:  # the first row: the header rows are those its cells span
            head = 1 + max((down[col][1] for col, _, _ in cells), default=0)
        placed.append(cells)
    numbers = [any(is_number(text, years=False) for _, text, _ in cells if text)
               for cells in placed]
    given = 1 < head < len(placed) and head <= 4 and not any(numbers[:head]) and \
        any(numbers[head:])
    writer, lines = Table(), []
    for number, cells in enumerate(placed):
        lines += writer.add(cells, header=given and number < head)
    return [line for _, line in lines + writer.finish()]


def _cell_text(text: str | None) -> str:
    """A cell's lines joined: without a space next to a wide character (CJK, full-width
    punctuation: ``营业`` + ``收入``, ``2023`` + ``年``), else with one (``Net profit``)."""
    parts = [line.strip() for line in (text or "").split("\n") if line.strip()]
    joined = parts[0] if parts else ""
    for part in parts[1:]:
        wide = _WIDE.match(joined[-1]) or _WIDE.match(part[0])
        joined += part if wide else " " + part
    return joined

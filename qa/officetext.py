"""Spreadsheets and slides as text: .xlsx (openpyxl), .csv (the csv module), .pptx (python-pptx).

Each visible, non-empty sheet of a workbook, and a CSV file, is one table: a ``## <sheet name>``
heading line (a CSV's: its file stem), then its rows as one block in the format of
:mod:`qa.tables` (the header guessed). Cells hold what the spreadsheet last computed (formulas
are not evaluated): numbers without float noise (percent-formatted ones as ``12.5%``), dates as
``2023-12-31``. A CSV's delimiter (comma, tab or semicolon) is the one that splits its first
lines into the same number of fields; its bytes are decoded as text files are.

A visible slide is a ``## <title>`` heading line (``## Slide n`` / ``## 第 n 张幻灯片`` without a
title), then, one block each: the paragraphs of each text frame (groups opened), each ended as
a sentence so that a bullet is neither a headline nor glued to the next; each table, as rows;
the speaker notes.

Place marks (:mod:`qa.places`): ``{"sheet": name}`` at each sheet's heading and ``{"row": n}``
at each row's line (``n``: the spreadsheet's row number, from 1, the header row counted);
``{"slide": n}`` at each slide's heading (``n`` counts hidden slides too). The pieces are cleaned
as :class:`~qa.documents.Document` text is before the offsets are taken.

Bounded work: the zip is checked before unpacking (:func:`qa.limits.check_zip`); more than
:data:`qa.limits.MAX_SHEET_CELLS` cells read (empty ones and missing rows counted) or more text
than :data:`qa.limits.MAX_TEXT_CHARS` is refused with a :class:`~qa.errors.DocumentError`.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from pathlib import Path

from .documents import _clean, _too_much_text
from .errors import DocumentError, MissingDependencyError
from .limits import MAX_SHEET_CELLS, MAX_TEXT_CHARS, check_zip
from .tables import Table, collapse, sentence
from .text import CJK_RE

__all__ = ["csv_text", "pptx_text", "xlsx_text"]

_DELIMITERS = ",\t;"
_SNIFF_LINES = 50
_OFF = ("0", "false", "off")


class _Writer:
    """A document's text built piece by piece, cleaned, with place marks at the pieces'
    offsets."""

    def __init__(self, name: str):
        self.name, self.parts, self.places, self.size = name, [], [], 0

    def add(self, text: str, mark: dict | None = None, block: bool = False) -> None:
        """Add ``text`` on a new line, after a blank line when ``block``."""
        if self.parts:
            self.parts.append("\n\n" if block else "\n")
            self.size += len(self.parts[-1])
        if mark:
            self.places.append((self.size, mark))
        self.parts.append(_clean(text))
        self.size += len(self.parts[-1])
        if self.size > MAX_TEXT_CHARS:
            raise _too_much_text(self.name)

    def text(self) -> tuple[str, tuple]:
        return "".join(self.parts) + "\n", tuple(self.places)


class _Cells:
    """Counts the cells read from one spreadsheet against ``MAX_SHEET_CELLS``."""

    def __init__(self, name: str):
        self.name, self.count = name, 0

    def add(self, count: int) -> None:
        self.count += max(count, 1)  # a missing or empty row costs its step too
        if self.count > MAX_SHEET_CELLS:
            raise DocumentError(f"{self.name}: more than {MAX_SHEET_CELLS:,} cells, over the "
                                f"{MAX_SHEET_CELLS:,}-cell limit; split the spreadsheet")


def _sheet(writer: _Writer, rows, sheet: str, cells: _Cells) -> None:
    """One sheet: ``rows`` (lists of cell texts, from row 1) as a table under its heading,
    written once it has a line."""
    table, started = Table(), False

    def write(lines: list[tuple]) -> None:
        nonlocal started
        for number, line in lines:
            if not started:
                writer.add(f"## {collapse(sheet) or '-'}", {"sheet": sheet}, block=True)
            writer.add(line, {"row": number} if number is not None else None, block=not started)
            started = True

    for number, row in enumerate(rows, 1):
        cells.add(len(row))
        write(table.add(row, key=number))
    write(table.finish())


def xlsx_text(data: bytes, name: str) -> tuple[str, tuple]:
    """The visible sheets of an .xlsx as text and place marks (see the module doc).

    Raises:
        DocumentError: not a workbook, broken, a zip bomb, over ``MAX_SHEET_CELLS`` cells or
            ``MAX_TEXT_CHARS`` characters.
        MissingDependencyError: openpyxl is not installed.
    """
    try:
        import openpyxl
    except ImportError as exc:
        raise MissingDependencyError("reading XLSX needs openpyxl: pip install openpyxl") from exc
    writer, cells = _Writer(name), _Cells(name)
    try:
        check_zip(zipfile.ZipFile(io.BytesIO(data)), name)
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                if sheet.sheet_state != "visible":
                    continue
                sheet.reset_dimensions()  # the stated size may lie: read the rows there are
                rows = ([_value(cell) for cell in row] for row in sheet.iter_rows())
                _sheet(writer, rows, sheet.title, cells)
        finally:
            book.close()
    except (DocumentError, MissingDependencyError):
        raise
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{name}: not a valid .xlsx file ({exc})") from exc
    except Exception as exc:  # openpyxl raises many types on broken files
        raise DocumentError(f"{name}: cannot read this .xlsx ({type(exc).__name__}: "
                            f"{exc})") from exc
    return writer.text()


def _value(cell) -> str:
    """A cell's value as the spreadsheet shows it, near enough."""
    value = cell.value
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if "%" in (getattr(cell, "number_format", None) or ""):
            return f"{value * 100:.12g}%"
        return f"{value:.15g}" if isinstance(value, float) else str(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def csv_text(text: str, name: str) -> tuple[str, tuple]:
    """A CSV file's decoded text as one table: text and place marks (see the module doc).

    Raises:
        DocumentError: a broken row (the csv module's message), over ``MAX_SHEET_CELLS`` cells
            or ``MAX_TEXT_CHARS`` characters.
    """
    writer, cells = _Writer(name), _Cells(name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        _sheet(writer, reader, Path(name).stem, cells)
    except csv.Error as exc:
        raise DocumentError(f"{name}: cannot read this CSV (line {reader.line_num}: "
                            f"{exc})") from exc
    return writer.text()


def _delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number (at least
    two) of fields; a comma when none does."""
    lines = text[:1 << 16].split("\n")[:_SNIFF_LINES + 1]
    lines = lines[:-1] if len(lines) > 1 else lines  # the last may be cut
    best, best_score = ",", (0.0, 0)
    for delimiter in _DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode) / len(counts), mode)
        if mode > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def pptx_text(data: bytes, name: str) -> tuple[str, tuple]:
    """The visible slides of a .pptx as text and place marks (see the module doc).

    Raises:
        DocumentError: not a presentation, broken, a zip bomb, or over ``MAX_TEXT_CHARS``.
        MissingDependencyError: python-pptx is not installed.
    """
    try:
        from pptx import Presentation
    except ImportError as exc:
        raise MissingDependencyError("reading PPTX needs python-pptx: pip install python-pptx") \
            from exc
    writer = _Writer(name)
    try:
        check_zip(zipfile.ZipFile(io.BytesIO(data)), name)
        for number, slide in enumerate(Presentation(io.BytesIO(data)).slides, 1):
            if slide.element.get("show") not in _OFF:
                _slide(writer, slide, number)
    except (DocumentError, MissingDependencyError):
        raise
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{name}: not a valid .pptx file ({exc})") from exc
    except Exception as exc:  # python-pptx raises many types on broken files
        raise DocumentError(f"{name}: cannot read this .pptx ({type(exc).__name__}: "
                            f"{exc})") from exc
    return writer.text()


def _slide(writer: _Writer, slide, number: int) -> None:
    title_shape = slide.shapes.title
    title = collapse(title_shape.text_frame.text) if title_shape is not None and \
        title_shape.has_text_frame else ""
    skip = title_shape.element if title_shape is not None else None
    blocks = [lines for lines in _shape_blocks(slide.shapes, skip) if lines]
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        blocks.append(_paragraphs(slide.notes_slide.notes_text_frame))
    blocks = [lines for lines in blocks if lines]
    if not title and not blocks:
        return
    if not title:
        cjk = any(CJK_RE.search(line) for lines in blocks for line in lines)
        title = f"第 {number} 张幻灯片" if cjk else f"Slide {number}"
    writer.add(f"## {title}", {"slide": number}, block=True)
    for lines in blocks:
        for index, line in enumerate(lines):
            writer.add(line, block=index == 0)


def _shape_blocks(shapes, skip):
    """Each text frame's and table's lines, groups opened, in the slide's order."""
    stack = [iter(shapes)]
    while stack:
        shape = next(stack[-1], None)
        if shape is None:
            stack.pop()
        elif hasattr(shape, "shapes"):  # a group
            stack.append(iter(shape.shapes))
        elif shape.element is skip:
            continue
        elif shape.has_text_frame:
            yield _paragraphs(shape.text_frame)
        elif getattr(shape, "has_table", False):
            yield _table_lines(shape.table)


def _paragraphs(frame) -> list[str]:
    return [line for line in (sentence(paragraph.text) for paragraph in frame.paragraphs) if line]


def _table_lines(table) -> list[str]:
    """A slide table's rows in the format of :mod:`qa.tables`; a merged cell's text is given to
    each row it spans, once."""
    rows, lines, down = Table(), [], {}  # down: column -> [text, rows left, width]
    for row in table.rows:
        cells, below = [], {col: span for col, span in down.items() if span[1] > 0}
        for column, cell in enumerate(row.cells):
            if cell.is_merge_origin:
                cells.append((column, cell.text, cell.span_width))
                if cell.span_height > 1:
                    down[column] = [cell.text, cell.span_height - 1, cell.span_width]
            elif cell.is_spanned and column in below:
                text, _, width = below[column]
                cells.append((column, text, width))
                down[column][1] -= 1
            elif not cell.is_spanned:
                cells.append((column, cell.text, 1))
        lines += rows.add(cells)
    return [line for _, line in lines + rows.finish()]

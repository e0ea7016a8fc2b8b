"""The paragraphs and tables of a .docx file, read as a stream (time linear, memory bounded).

The text is the body's own paragraphs as python-docx's ``Document(...).paragraphs`` gives them,
each the text of its runs and hyperlinks (tabs as ``\\t``, line breaks as ``\\n``), and the
body's tables in document order among them, each a block of rows in the format of
:mod:`qa.tables` (header rows: Word's repeated header rows, else guessed). A cell's text is its
paragraphs' (a table in the cell flattened into it); a cell spanning columns is one cell; one
continuing a vertical merge has the merge's text, as python-docx gives it. A paragraph styled
Title or Heading 1 becomes a ``# `` line, other headings ``## ``.

Before anything is unpacked the zip's directory is checked (:func:`qa.limits.check_zip`, as
for XLSX and PPTX): more than :data:`qa.limits.MAX_DECOMPRESSED_BYTES` in all, or a part packed
more than ``MAX_COMPRESSION_RATIO`` times smaller (a zip bomb), is refused. ``word/document.xml`` is
then parsed incrementally (lxml ``iterparse``), dropping each paragraph once it has been read and
each table row once it has been written.
"""

from __future__ import annotations

import io
import posixpath
import zipfile

from .errors import DocumentError, MissingDependencyError
from .limits import MAX_TEXT_CHARS, check_zip
from .tables import Table

__all__ = ["docx_text"]

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _R, _BODY, _PPR, _PSTYLE = _W + "p", _W + "r", _W + "body", _W + "pPr", _W + "pStyle"
_TBL, _TR, _TC, _TRPR, _TCPR = _W + "tbl", _W + "tr", _W + "tc", _W + "trPr", _W + "tcPr"
_HYPERLINK, _VAL = _W + "hyperlink", _W + "val"
_CELL_PARTS = frozenset([_TC, _W + "sdtContent", _W + "customXml"])  # a cell paragraph's parent
# In a table, the children of these are kept until their parent is read
_READ_WITH_PARENT = frozenset([_P, _R, _PPR, _HYPERLINK, _TCPR, _TRPR])
_OFF = ("0", "false", "off")
_MAX_SPAN = 1000  # columns one cell may span (a larger w:gridSpan is taken as this)
_RUN_TEXT = {_W + "t": None, _W + "tab": "\t", _W + "ptab": "\t", _W + "cr": "\n",
             _W + "noBreakHyphen": "-", _W + "br": "\n"}
_KEEP = frozenset(_RUN_TEXT) | {_PSTYLE}  # read only when their parent ends
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_DOCUMENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def docx_text(data: bytes, name: str) -> str:
    """The body paragraphs of a .docx as blank-line separated text (see the module doc).

    Args:
        data: the file's bytes.
        name: the file name, for messages.
    Returns:
        The text.
    Raises:
        DocumentError: not a Word document, broken, unpacking too large, or more text than
            ``MAX_TEXT_CHARS``.
        MissingDependencyError: lxml (installed with python-docx) is missing.
    """
    try:
        from lxml import etree
    except ImportError as exc:
        raise MissingDependencyError("reading DOCX needs python-docx: pip install python-docx") from exc
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        check_zip(archive, name)
        part = _main_part(archive, etree)
        styles = _styles(archive, part, etree)
        with archive.open(part) as stream:
            return _paragraphs(stream, styles, etree, name)
    except DocumentError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise DocumentError(f"{name}: not a valid .docx file ({exc})") from exc
    except Exception as exc:  # zlib.error, EOFError, NotImplementedError (compression) ...
        raise DocumentError(f"{name}: cannot read this .docx ({type(exc).__name__}: {exc})") from exc


def _targets(archive: zipfile.ZipFile, rels: str, base: str, kind: str, etree) -> list[str]:
    """Part names the relationships file ``rels`` points to with type ``kind``."""
    try:
        root = etree.fromstring(archive.read(rels), _parser(etree))
    except KeyError:  # no such part
        return []
    return [posixpath.normpath(posixpath.join(base, r.get("Target", ""))).lstrip("/")
            for r in root if r.get("Type") == _REL + kind and r.get("TargetMode") != "External"]


def _main_part(archive: zipfile.ZipFile, etree) -> str:
    parts = _targets(archive, "_rels/.rels", "/", "officeDocument", etree)
    if not parts:
        raise KeyError("no main document part")
    types = etree.fromstring(archive.read("[Content_Types].xml"), _parser(etree))
    by_name = {o.get("PartName", "").lstrip("/").lower(): o.get("ContentType")
               for o in types.iter(_CT + "Override")}
    by_ext = {d.get("Extension", "").lower(): d.get("ContentType")
              for d in types.iter(_CT + "Default")}
    kind = by_name.get(parts[0].lower(), by_ext.get(posixpath.splitext(parts[0])[1][1:].lower()))
    if kind != _DOCUMENT_TYPE:
        raise ValueError(f"not a Word document, content type {kind}")
    return parts[0]


def _styles(archive: zipfile.ZipFile, part: str, etree) -> dict:
    """``{style id: lower-case name}`` of paragraph styles; key ``None``: the default one."""
    folder, base = posixpath.split(part)
    found = _targets(archive, posixpath.join(folder, "_rels", base + ".rels"), "/" + folder,
                     "styles", etree)
    if found and found[0] in archive.namelist():
        root = etree.fromstring(archive.read(found[0]), _parser(etree))
    else:  # python-docx then uses its own default styles
        try:
            from importlib.resources import files

            xml = (files("docx") / "templates" / "default-styles.xml").read_bytes()
        except (ImportError, OSError):
            return {}
        root = etree.fromstring(xml, _parser(etree))
    styles, default, seen = {}, None, set()
    for style in root.iterchildren(_W + "style"):
        style_id, kind = style.get(_W + "styleId"), style.get(_W + "type")
        name_element = style.find(_W + "name")
        style_name = (name_element.get(_W + "val") or "") if name_element is not None else ""
        if style_id not in seen and kind == "paragraph":
            styles[style_id] = style_name.lower()
        seen.add(style_id)
        if kind == "paragraph" and style.get(_W + "default") in ("1", "true", "on"):
            default = style_name.lower()
    styles[None] = default or ""
    return styles


def _paragraphs(stream, styles: dict, etree, name: str) -> str:
    blocks, runs, style_id, size = [], [], None, 0
    table = None  # the body table being read
    for event, element in etree.iterparse(stream, events=("start", "end"),
                                          remove_blank_text=True, resolve_entities=False):
        tag = element.tag
        if event == "start":
            if tag == _TBL and table is None and _is_body(element.getparent()):
                table = _Table(element)
            continue
        parent = element.getparent()
        if parent is None:
            continue
        if table is not None and element is not table.element:  # inside a body table
            size += sum(len(line) + 1 for _, line in table.end(element, parent))
            if size + table.waiting > MAX_TEXT_CHARS:
                raise _too_much(name)
            if parent.tag not in _READ_WITH_PARENT:  # read: drop it and what came before it
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del parent[0]
            continue
        if table is not None:  # the table ends
            lines = table.lines + table.rows.finish()
            if lines:
                blocks.append("\n".join(line for _, line in lines))
                size += 2
            table = None
        if tag == _R and (_body_level(parent) or parent.tag == _HYPERLINK and
                            _body_level(parent.getparent())):
            runs.extend(_run_text(child) for child in element if child.tag in _RUN_TEXT)
        elif tag == _PPR and _body_level(parent):
            style = element.find(_PSTYLE)
            style_id = style.get(_VAL) if style is not None else None
        elif tag == _P and _is_body(parent):
            text = "".join(runs).strip()
            if text:
                style = styles.get(style_id) if style_id else None
                style = styles[None] if style is None else style
                prefix = "# " if style in ("title", "heading 1") else \
                    "## " if style.startswith("heading") else ""
                blocks.append(prefix + text)
                size += len(blocks[-1]) + 2
            runs, style_id = [], None
        if size > MAX_TEXT_CHARS:
            raise _too_much(name)
        if parent.tag in (_R, _PPR):
            if tag not in _KEEP:
                element.clear(keep_tail=True)
        else:  # read: drop it and what came before it
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del parent[0]
    return "\n\n".join(blocks)


def _too_much(name: str) -> DocumentError:
    return DocumentError(f"{name}: text over the {MAX_TEXT_CHARS:,}-character limit; split it "
                         "into smaller files")


class _Table:
    """A body table being read: each cell paragraph's text kept as it ends, each cell's text
    and grid place as it ends, each row written as it ends (then dropped)."""

    __slots__ = ("element", "rows", "lines", "merged", "cells", "parts", "waiting", "column",
                 "header", "span", "merge")

    def __init__(self, element):
        self.element, self.rows, self.lines = element, Table(), []
        self.merged: dict[int, str] = {}  # grid column: text of the vertical merge there
        self.cells, self.parts, self.column, self.header = [], [], 0, False
        self.span, self.merge, self.waiting = 1, None, 0  # waiting: characters not written yet

    def end(self, element, parent) -> list[tuple]:
        """Read an element of the table at its end; returns the lines written."""
        tag = element.tag
        if tag == _P and parent.tag in _CELL_PARTS:  # a paragraph of a cell (or a cell's table)
            text = _paragraph_text(element)
            if text:
                self.parts.append(text)
                self.waiting += len(text) + 1
        elif tag == _TR and parent is self.element:
            written = self.rows.add(self.cells, header=self.header)
            self.lines += written
            self.cells, self.column, self.header, self.waiting = [], 0, False, 0
            return written
        elif parent.getparent() is self.element:  # in one of the table's rows
            if tag == _TRPR:
                before, repeat = element.find(_W + "gridBefore"), element.find(_W + "tblHeader")
                self.column = _number(before, 0) if before is not None else 0
                self.header = repeat is not None and repeat.get(_VAL, "1") not in _OFF
            elif tag == _TC:
                self._cell()
        elif tag == _TCPR and parent.tag == _TC and parent.getparent().getparent() is self.element:
            span, merge = element.find(_W + "gridSpan"), element.find(_W + "vMerge")
            self.span = _number(span, 1) if span is not None else 1
            self.merge = (merge.get(_VAL) or "continue") if merge is not None else None
        return []

    def _cell(self) -> None:
        """A cell ends: its text (a vertical merge's when it continues one) at its column."""
        column, text = self.column, " ".join(self.parts)
        if self.merge == "continue":
            text = self.merged.get(column, "")
        elif self.merge == "restart":
            self.merged[column] = text
        else:
            self.merged.pop(column, None)
        self.cells.append((column, text, self.span))
        self.column += self.span
        self.parts, self.span, self.merge = [], 1, None


def _number(element, least: int) -> int:
    """A ``w:val`` count, at least ``least``, at most ``_MAX_SPAN``."""
    try:
        return min(max(int(element.get(_VAL, least)), least), _MAX_SPAN)
    except ValueError:
        return least


def _paragraph_text(paragraph) -> str:
    """What python-docx gives as a paragraph's text: its runs' and hyperlinks' runs'."""
    return "".join(_run_text(child) for run in _runs(paragraph) for child in run
                   if child.tag in _RUN_TEXT).strip()


def _runs(paragraph):
    for child in paragraph:
        if child.tag == _R:
            yield child
        elif child.tag == _HYPERLINK:
            yield from child.iterchildren(_R)


def _run_text(element) -> str:
    """The text python-docx gives a run's ``w:t``, ``w:tab``, ``w:br``... child."""
    if element.tag == _W + "br":  # a line break; page and column breaks are nothing
        return "\n" if element.get(_W + "type", "textWrapping") == "textWrapping" else ""
    return _RUN_TEXT[element.tag] or element.text or ""


def _body_level(paragraph) -> bool:
    """Whether ``paragraph`` is a ``w:p`` directly in the document's ``w:body``."""
    return paragraph is not None and paragraph.tag == _P and _is_body(paragraph.getparent())


def _is_body(element) -> bool:
    """Whether ``element`` is the ``w:body`` under the document's root."""
    root = element.getparent() if element is not None and element.tag == _BODY else None
    return root is not None and root.getparent() is None


def _parser(etree):
    return etree.XMLParser(remove_blank_text=True, resolve_entities=False)

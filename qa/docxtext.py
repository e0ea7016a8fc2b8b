"""The paragraphs of a .docx file, read as a stream (time linear, memory bounded).

The text is what python-docx's ``Document(...).paragraphs`` gives: the body's own paragraphs
(not those in tables), each the text of its runs and hyperlinks (tabs as ``\\t``, line breaks
as ``\\n``). A paragraph styled Title or Heading 1 becomes a ``# `` line, other headings ``## ``.
Before anything is unpacked the zip's directory is checked: more than
:data:`qa.limits.MAX_DECOMPRESSED_BYTES` in all, or a part packed more than
``MAX_COMPRESSION_RATIO`` times smaller (a zip bomb), is refused. ``word/document.xml`` is then
parsed incrementally (lxml ``iterparse``), dropping each element once it has been read.
"""

from __future__ import annotations

import io
import posixpath
import zipfile

from .errors import DocumentError, MissingDependencyError
from .limits import MAX_COMPRESSION_RATIO, MAX_DECOMPRESSED_BYTES, MAX_TEXT_CHARS

_RATIO_FROM_BYTES = 2**20  # parts smaller than this are not checked for their ratio
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _R, _BODY, _PPR, _PSTYLE = _W + "p", _W + "r", _W + "body", _W + "pPr", _W + "pStyle"
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
        _check_sizes(archive, name)
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


def _check_sizes(archive: zipfile.ZipFile, name: str) -> None:
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_DECOMPRESSED_BYTES:
        raise DocumentError(f"{name}: unpacks to {total / 2**20:,.0f} MB, over the "
                            f"{MAX_DECOMPRESSED_BYTES // 2**20} MB limit")
    for info in archive.infolist():
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= _RATIO_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise DocumentError(f"{name}: {info.filename} unpacks {ratio:,.0f} times its packed "
                                f"size, over the {MAX_COMPRESSION_RATIO}:1 limit (a zip bomb?)")


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
    for _, element in etree.iterparse(stream, events=("end",), remove_blank_text=True,
                                      resolve_entities=False):
        parent = element.getparent()
        if parent is None:
            continue
        tag = element.tag
        if tag == _R and (_body_level(parent) or parent.tag == _W + "hyperlink" and
                          _body_level(parent.getparent())):
            runs.extend(_run_text(child) for child in element if child.tag in _RUN_TEXT)
        elif tag == _PPR and _body_level(parent):
            style = element.find(_PSTYLE)
            style_id = style.get(_W + "val") if style is not None else None
        elif tag == _P and _is_body(parent):
            text = "".join(runs).strip()
            if text:
                style = styles.get(style_id) if style_id else None
                style = styles[None] if style is None else style
                prefix = "# " if style in ("title", "heading 1") else \
                    "## " if style.startswith("heading") else ""
                blocks.append(prefix + text)
                size += len(blocks[-1]) + 2
                if size > MAX_TEXT_CHARS:
                    raise DocumentError(f"{name}: text over the {MAX_TEXT_CHARS:,}-character "
                                        "limit; split it into smaller files")
            runs, style_id = [], None
        if parent.tag in (_R, _PPR):
            if tag not in _KEEP:
                element.clear(keep_tail=True)
        else:  # read: drop it and what came before it
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del parent[0]
    return "\n\n".join(blocks)


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

"""Names of uploaded files: made safe, kept apart from the names already taken, and whose
private upload a stored path is."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from .errors import DocumentError

MAX_NAME_CHARS = 150
MAX_NAME_BYTES = 200
PRIVATE = "users"
"""The uploads' subfolder holding one folder of private uploads per user."""


def safe_name(name: str) -> str:
    """A file name that cannot leave the uploads folder: the last path part, NFC, printable
    characters only, no leading dots, at most 150 characters (200 bytes) with the extension
    kept.

    Raises:
        DocumentError: nothing usable is left of ``name``.
    """
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", str(name))[-1]).strip()
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    base = base.lstrip(".").strip()
    if not base or base in (".", ".."):
        raise DocumentError(f"{name!r} is not a usable file name")
    return _shortened(base, "")


def _shortened(name: str, tag: str) -> str:
    """``name`` with ``tag`` before its extension, cut to :data:`MAX_NAME_CHARS` characters
    and :data:`MAX_NAME_BYTES` bytes of UTF-8 (file systems stop at 255 bytes)."""
    suffix = Path(name).suffix if len(Path(name).suffix) <= 16 else ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    stem = stem[: MAX_NAME_CHARS - len(tag) - len(suffix)]
    while len((stem + tag + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip() + tag + suffix


def free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``… : the first not in ``taken`` (casefolded)."""
    candidate, number = name, 2
    while candidate.casefold() in taken:
        candidate, number = _shortened(name, f" ({number})"), number + 1
    return candidate


def names_in(folder: Path) -> set[str]:
    """The (casefolded) names of the files in ``folder`` that uploads cannot take."""
    if not folder.is_dir():
        return set()
    return {p.name.casefold() for p in folder.iterdir() if not p.name.startswith(".")}


def owner_of(stored: str | None) -> str | None:
    """The user whose private upload is stored at ``stored`` (``users/<name>/x.pdf``, a path
    inside the uploads folder), else ``None`` (everyone's, or not an upload)."""
    parts = (stored or "").split("/")
    return parts[1] if len(parts) == 3 and parts[0] == PRIVATE else None

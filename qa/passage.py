"""The result types: :class:`Passage` (returned by ``retrieve``) and :class:`Record` (stored,
read back from an index folder by :class:`RecordFile`)."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Record:
    """A passage as stored in an index folder (one line of ``passages.jsonl``).

    ``start``/``end`` are offsets in the source document's text; ``hash`` is the sha256 of the
    text that was embedded, so an unchanged passage is never embedded twice; ``script`` is
    ``cjk`` or ``latin`` (see :func:`qa.text.script_of`); ``place`` where in the document it
    is (:mod:`qa.places`: ``{"page": 12}``, ``{"sheet": "…", "rows": [2, 9]}``…).
    """

    id: str
    text: str
    source: str
    title: str = ""
    section: str = ""
    start: int = 0
    end: int = 0
    hash: str = ""
    script: str = ""
    place: dict = field(default_factory=dict)

    def embed_text(self, titles: bool) -> str:
        """What the models see: the title line and the text, or the text alone."""
        return f"{self.title}\n{self.text}" if titles and self.title else self.text

    def to_json(self) -> dict:
        return asdict(self)


def content_hash(text: str) -> str:
    """sha256 of ``text`` (UTF-8), hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path) -> str:
    """sha256 of a file's bytes, hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Passage:
    """One retrieved passage.

    Attributes:
        id: stable identifier (``<source>#<n>`` for documents, the corpus id in ``qa eval``).
        text: the passage text.
        score: calibrated probability in [0, 1] that the passage answers the question.
        source: the file the passage comes from.
        title: the title of its article (file name stem when the file has none).
        start, end: character offsets of the passage in the source document's text.
        section: the section path above the passage (headings, outer first), if any.
        answer_start, answer_end: span in ``text`` of the sentence that best answers the
            question (``0, 0`` when unknown).
        tier: ``"answer"`` when ``score`` reaches the calibrated answer threshold, else
            ``"possible"`` (possibly relevant; only returned when asked for).
        place: where in the document: ``{"page": 12}``, ``{"sheet": "…", "rows": [2, 9]}``,
            ``{"slide": 3}`` or ``{}`` (:mod:`qa.places`).
        location: ``place`` and ``section`` for people (``"page 12 · 二、项目概况"``).
        also_in: other documents holding the same text (shown once, here).
    """

    id: str
    text: str
    score: float
    source: str
    title: str
    start: int
    end: int
    section: str = ""
    answer_start: int = 0
    answer_end: int = 0
    tier: str = "answer"
    place: dict = field(default_factory=dict)
    location: str = ""
    also_in: tuple[str, ...] = ()

    @property
    def answer(self) -> str:
        """The answering sentence (empty when unknown)."""
        return self.text[self.answer_start:self.answer_end]


class RecordFile(Sequence):
    """The records of ``passages.jsonl``, parsed one line at a time on access."""

    def __init__(self, path: Path):
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            self._data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        view = np.frombuffer(self._data, dtype=np.uint8)
        step = 64 << 20  # scanned in slices: no file-sized temporary
        ends = np.concatenate([np.flatnonzero(view[i:i + step] == 10) + i
                               for i in range(0, len(view), step)] or [np.zeros(0, np.int64)])
        self._starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
        self._ends = ends

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        line = self._data[self._starts[row]:self._ends[row]]
        return Record(**json.loads(line.decode("utf-8")))

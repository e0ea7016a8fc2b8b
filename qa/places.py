"""Where a passage is in its document: PDF page, sheet and rows, slide.

A reader marks places in its document's text (:attr:`qa.documents.Document.places`): at an
offset, what changes there, e.g. ``(0, {"page": 1})``, ``(5120, {"page": 2})``,
``(0, {"sheet": "营业收入"})``, ``(40, {"row": 2})``. A passage's place
(:func:`place_of`) holds the latest value of each key at its start; row marks become
``"rows": [first, last]``, the rows it spans. :func:`describe` writes a place and the
section path for people ("第 12 页 · 二、项目概况", "page 12 · 二、项目概况").
"""

from __future__ import annotations

import bisect

__all__ = ["Places", "describe"]

_ZH = {"page": "第 {} 页", "sheet": "工作表 {}", "rows": "第 {}–{} 行", "row": "第 {} 行",
       "slide": "第 {} 张幻灯片"}
_EN = {"page": "page {}", "sheet": "sheet {}", "rows": "rows {}–{}", "row": "row {}",
       "slide": "slide {}"}
_ORDER = ("page", "sheet", "rows", "slide")


class Places:
    """A document's place marks, ready to answer :meth:`at` in O(log n)."""

    def __init__(self, marks=()):
        self.offsets: list[int] = []
        self.states: list[dict] = []
        state: dict = {}
        for offset, change in sorted(marks, key=lambda mark: mark[0]):
            state = {**state, **change}
            if self.offsets and self.offsets[-1] == offset:
                self.states[-1] = state
            else:
                self.offsets.append(offset)
                self.states.append(state)

    def _state(self, offset: int) -> dict:
        at = bisect.bisect_right(self.offsets, offset) - 1
        return self.states[at] if at >= 0 else {}

    def at(self, start: int, end: int) -> dict:
        """The place of the text ``[start, end)`` (see the module docstring)."""
        place = dict(self._state(start))
        first = place.pop("row", None)
        last = self._state(max(start, end - 1)).get("row")
        if first is not None or last is not None:
            first = first if first is not None else last
            place["rows"] = [first, last if last is not None else first]
        return place


def describe(place: dict, section: str = "", chinese: bool = False) -> str:
    """``place`` and ``section`` for people, parts joined by `` · ``; ``""`` when both are
    empty."""
    words = _ZH if chinese else _EN
    parts = []
    for key in _ORDER:
        if key not in place:
            continue
        value = place[key]
        if key == "rows":
            first, last = value
            parts.append(words["row"].format(first) if first == last
                         else words["rows"].format(first, last))
        else:
            parts.append(words[key].format(value))
    if section:
        parts.append(section)
    return " · ".join(parts)

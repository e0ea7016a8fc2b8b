"""Which ranked passages a question gets: the threshold cut (:func:`answering`), a filter by
document (:func:`source_rows`) and near-identical passages shown once (:func:`fold_duplicates`)."""

from __future__ import annotations

import fnmatch
import re
import unicodedata

import numpy as np

from . import calibration, fusion
from .passage import Record

_SPACE_RE = re.compile(r"\s+")
_NUMBER_RE = re.compile(r"\d+")
NEAR_IDENTICAL = 0.85
"""Bigram overlap (Jaccard) from which two passages with the same numbers count as one."""


def best_rows(scores: np.ndarray, k: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows of the ``k`` highest ``scores``, best first (ties keep row order); only among
    ``rows`` (sorted) when given."""
    if rows is not None:
        return rows[best_rows(scores[rows], k)]
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def answering(evidence: fusion.Evidence, k: int, possible: bool = False,
              within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the ``k`` best passages by fused score among those whose calibrated probability
    reaches the threshold (the *answer* tier's, or with ``possible`` the lower one of the
    *possibly relevant* tier), best first, and their probabilities: :meth:`Retriever.rank`'s
    order with the passages below the threshold skipped (and those not ``within`` the given
    sorted rows, when given). Cutting *before* taking the top ``k`` keeps a flood of
    near-misses ranked just above the answer from pushing it out of the list."""
    rows = np.arange(len(evidence.fused)) if evidence.rows is None else evidence.rows
    if within is not None:
        rows = np.intersect1d(rows, within, assume_unique=True)
    chances = calibration.probabilities(evidence, rows)
    cut = calibration.possible_threshold() if possible else calibration.threshold()
    keep = chances >= cut  # "not found" when none is kept
    top = best_rows(evidence.fused[rows[keep]], k)
    return rows[keep][top], chances[keep][top]


def source_rows(by_source: dict[str, np.ndarray], sources: str | list[str] | None = None,
                allowed=None) -> np.ndarray | None:
    """Sorted rows of the passages whose document matches ``sources`` (``None``: any): a name
    or a glob (``fnmatch``, e.g. ``"*.pdf"``, ``"uploads/报告*"``), or a list of them, matched
    against the document's name in results and its file name; only among the documents named
    exactly in ``allowed`` when it is given (what the asker may read). ``None`` when neither
    narrows anything.

    Raises:
        ValueError: no pattern given, or no document (that may be read) matches.
    """
    if sources is None and allowed is None:
        return None
    names = list(by_source) if allowed is None else [n for n in by_source if n in allowed]
    if sources is not None:
        patterns = [sources] if isinstance(sources, str) else list(sources)
        patterns = [p.strip() for p in patterns if isinstance(p, str) and p.strip()]
        if not patterns:
            raise ValueError("sources: give at least one document name or pattern")
        names = [n for n in names if _matches(n, patterns)]
        if not names:
            raise ValueError(f"no document matches {', '.join(map(repr, patterns))}")
    if not names:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate([by_source[name] for name in names]))


def _matches(source: str, patterns: list[str]) -> bool:
    name = source.rsplit("/", 1)[-1]
    return any(p in (source, name) or fnmatch.fnmatchcase(source, p)
               or fnmatch.fnmatchcase(name, p) for p in patterns)


def fold_duplicates(records: list[Record], rows: np.ndarray, chances: np.ndarray,
                    k: int) -> list[tuple[int, float, tuple[str, ...]]]:
    """The first ``k`` of ``rows`` (best first) with near-identical passages shown once:
    ``(row, chance, other documents holding the same text)``, the best-ranked copy kept.

    Two passages are near-identical when, folded (NFKC, case) without white space, their character bigrams overlap by :data:`NEAR_IDENTICAL` or more
    (Jaccard) and they hold the same numbers in the same order, so that two passages differing
    in a figure or a date are both shown."""
    kept: list[list] = []  # [row, chance, also, bigrams, numbers]
    for row, chance in zip(rows.tolist(), chances.tolist()):
        folded = _SPACE_RE.sub("", unicodedata.normalize("NFKC", records[row].text).casefold())
        numbers = _NUMBER_RE.findall(folded)
        alike = [entry for entry in kept if entry[4] == numbers]
        if not alike and len(kept) >= k:
            continue
        grams = {folded[i:i + 2] for i in range(max(len(folded) - 1, 1))}
        twin = next((entry for entry in alike
                     if len(grams & entry[3]) >= NEAR_IDENTICAL * len(grams | entry[3])), None)
        if twin is not None:
            source = records[row].source
            if source != records[twin[0]].source and source not in twin[2]:
                twin[2].append(source)
        elif len(kept) < k:
            kept.append([row, chance, [], grams, numbers])
    return [(row, chance, tuple(also)) for row, chance, also, _, _ in kept]

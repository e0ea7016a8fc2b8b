"""Questions: validation of user input and the prepared form the ranking uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_K = 100
MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class Question:
    """A question ready to rank: ``text`` (with the context of a follow-up), its keyword
    ``tokens``, ``embed``, the text given to the model, and ``terms``, its words translated
    for keyword matching across languages (:mod:`qa.bilingual`)."""

    text: str
    tokens: tuple[str, ...]
    embed: str = ""
    terms: tuple = ()


@dataclass(frozen=True)
class Ranked:
    """One ranked passage: its index row and fused score."""

    row: int
    score: float


def clean_question(question) -> str:
    """The question stripped of control characters and cut to ``MAX_QUESTION_CHARS``.

    Raises:
        ValueError: not a string, or empty / white space only.
    """
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, not {type(question).__name__}")
    text = question[: MAX_QUESTION_CHARS * 4].encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if not text:
        raise ValueError("the question is empty")
    return text[:MAX_QUESTION_CHARS].strip()


def check_k(k) -> int:
    """``k`` as an int in 1..MAX_K.

    Raises:
        ValueError: not an integer or out of range.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, not {k!r}")
    if not 1 <= int(k) <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
    return int(k)

"""Questions: validation of user input and the prepared form the ranking uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_K = 100
MAX_QUESTION_CHARS = 1000
WORDS_PER_TERM = 1
"""How many translations of each word go into :attr:`Question.embed_translated`: the first
(for a phrase, the compound the documents hold most; else the word's most frequent
translation in them; three measured no better: bench/translated_query.py)."""


@dataclass(frozen=True)
class Question:
    """A question ready to rank: ``text`` (with the context of a follow-up), its keyword
    ``tokens``, ``embed``, the text given to the model, ``terms``, its words translated
    for keyword matching across languages (:mod:`qa.bilingual`), ``embed_translated``:
    ``embed`` followed by those translations, embedded too (:func:`question_vectors`), or
    empty when it has none (documents all in the question's script), and ``weights``: the
    tokens said more than once, with their weight (:func:`qa.lexical.query_weights`)."""

    text: str
    tokens: tuple[str, ...]
    embed: str = ""
    terms: tuple = ()
    embed_translated: str = ""
    weights: tuple[tuple[str, float], ...] = ()


def with_translations(embed: str, terms, per_term: int = WORDS_PER_TERM) -> str:
    """``embed`` followed by the first ``per_term`` written translations of each of ``terms``
    in brackets (``How big is the water plant? (水厂 大)``); empty without any."""
    words = [w for term in terms for w in term.words[:per_term]]
    return f"{embed} ({' '.join(words)})" if words else ""


def question_vectors(encoder, questions: list[Question], batch_size: int = 32) -> np.ndarray:
    """The dense vectors of ``questions``: the model's vector of ``embed``, or, for a question
    with ``embed_translated``, the normalised sum of the vectors of both texts.

    The words the documents use for the question's words pull it toward the passages in the
    other language that hold them, and the question's own vector keeps what the dictionary
    missed (``bench/translated_query.py``, docs/quality.md).
    """
    texts = [q.embed or q.text for q in questions]
    extra = [i for i, q in enumerate(questions) if q.embed_translated]
    vectors = encoder.encode_queries(texts + [questions[i].embed_translated for i in extra],
                                     batch_size=batch_size)
    out = np.array(vectors[:len(questions)], dtype=np.float32)
    for n, i in enumerate(extra):
        both = out[i] + vectors[len(questions) + n]
        out[i] = both / (np.linalg.norm(both) or 1.0)
    return out


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

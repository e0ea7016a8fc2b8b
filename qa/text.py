"""Text facts every layer shares: which characters are CJK, which script a text is in, and how
text is folded before matching. Pure functions; OpenCC is loaded on first use, not on import.

Character classes (strings for use inside ``[...]`` of a regular expression), all built from
one set of Unicode blocks (the ``_`` names below), each a subset of :data:`CJK`:

- :data:`UNIFIED_IDEOGRAPHS`: the CJK Unified Ideographs block, U+4E00-U+9FFF (the headwords
  :mod:`qa.bilingual` keeps from CC-CEDICT);
- :data:`MAIN_HAN`: U+3400-U+9FFF, extension A, the Yijing hexagram symbols and the unified
  block (what :func:`qa.followup.content_size` counts);
- :data:`IDEOGRAPHS`: all Han ideographs: extension A, the unified block, the compatibility
  ideographs and the supplementary planes' extensions (what :mod:`qa.lexical` cuts into
  character bigrams);
- :data:`CJK`: the ideographs plus the hexagram symbols, Japanese kana and Korean Hangul
  syllables: characters that stand for a syllable or a word, one model token each
  (:mod:`qa.sentences`), and the test of a text's script (:func:`script_of`).

The subsets are kept because widening them changes results: :data:`UNIFIED_IDEOGRAPHS` to
:data:`IDEOGRAPHS` adds 92 CC-CEDICT headwords; :data:`IDEOGRAPHS` to :data:`CJK` changes the
keyword tokens of saved indexes (a run of kana or Hangul is one word there now);
:data:`MAIN_HAN` to :data:`CJK` changes the size of questions with kana (``・``, U+30FB) or
rarer ideographs.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from .errors import MissingDependencyError

__all__ = ["CJK", "CJK_RE", "IDEOGRAPHS", "MAIN_HAN", "SCRIPT_CODES", "TRIMMED",
           "UNIFIED_IDEOGRAPHS", "is_chinese", "normalize", "normalize_char", "script_of",
           "to_simplified"]

_EXTENSION_A = "\u3400-\u4dbf"
_HEXAGRAMS = "\u4dc0-\u4dff"  # Yijing hexagram symbols, between extension A and the unified block
_UNIFIED = "\u4e00-\u9fff"
_COMPATIBILITY = "\uf900-\ufaff"
_SUPPLEMENTARY = "\U00020000-\U0003134f"  # extensions B-H
_KANA = "\u3040-\u30ff"  # hiragana and katakana
_HANGUL = "\uac00-\ud7af"  # Hangul syllables

UNIFIED_IDEOGRAPHS = _UNIFIED
MAIN_HAN = _EXTENSION_A + _HEXAGRAMS + _UNIFIED
IDEOGRAPHS = _EXTENSION_A + _UNIFIED + _COMPATIBILITY + _SUPPLEMENTARY
CJK = IDEOGRAPHS + _HEXAGRAMS + _KANA + _HANGUL
CJK_RE = re.compile(f"[{CJK}]")

TRIMMED = " \t\u3000\ufeff\xa0"
"""White space cut from the ends of lines and sentences besides newlines: spaces, tabs, the
ideographic space, byte-order marks and no-break spaces."""

SCRIPT_CODES = {"cjk": 0, "latin": 1}
"""The code of each script (:func:`script_of`) in an index's ``scripts.npy`` and the ranking's
per-script groups: ``0..len - 1``, so arrays indexed by a code have one entry per script."""


def script_of(text: str) -> str:
    """The script of a passage or question.

    Args:
        text: any text.
    Returns:
        ``"cjk"`` when :data:`CJK` characters are at least a fifth of its letters (characters
        for which ``str.isalpha`` holds), else ``"latin"`` (also for text without letters).
    """
    cjk = len(CJK_RE.findall(text))
    letters = sum(ch.isalpha() for ch in text)
    return "cjk" if letters and cjk * 5 >= letters else "latin"


def is_chinese(text: str) -> bool:
    """Whether a reply to ``text`` is written in Chinese: ``script_of(text) == "cjk"``, so the
    reply's language and the ranking's script of a question never disagree."""
    return script_of(text) == "cjk"


@functools.lru_cache(maxsize=1)
def _t2s():
    try:
        import opencc
    except ImportError as exc:
        raise MissingDependencyError("OpenCC is missing: pip install opencc") from exc
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters mapped to Simplified (OpenCC ``t2s``); other text kept.

    Raises:
        MissingDependencyError: OpenCC is not installed.
    """
    return _t2s().convert(text)


def normalize(text: str) -> str:
    """``text`` folded for matching: NFKC, lower case, Traditional -> Simplified Chinese.

    Raises:
        MissingDependencyError: OpenCC is not installed.
    """
    return _t2s().convert(unicodedata.normalize("NFKC", text).lower())


def normalize_char(ch: str) -> str:
    """One character folded like :func:`normalize`, kept to one character (for highlighting):
    its plain lower case when folding gives several characters (``ﬁ`` stays ``ﬁ``)."""
    folded = normalize(ch)
    return folded if len(folded) == 1 else ch.lower()

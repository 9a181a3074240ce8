"""Numbers as spoken words (training: `75` -> "seventy five"; queries: "10" -> "ten").

English is built in (the same words num2words produces, hyphens and commas removed); other languages
use num2words when it is installed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import TemplateError

NUMBER = re.compile(r"^-?[0-9]+$")
NUMBER_RANGE = re.compile(r"^(-?[0-9]+)\.\.(-?[0-9]+)(?:,([0-9]+))?$")

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**18, "quintillion"), (10**15, "quadrillion"), (10**12, "trillion"), (10**9, "billion"),
           (10**6, "million"), (1000, "thousand")]


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
        if n:
            words.append("and")
    if n >= 20:
        words.append(_TENS[n // 10])
        if n % 10:
            words.append(_ONES[n % 10])
    elif n or not words:
        words.append(_ONES[n])
    return words


def _english(n: int) -> list[str]:
    if n < 0:
        return ["minus", *_english(-n)]
    if n < 1000:
        return _below_thousand(n)
    words: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            words += [*_below_thousand(n // value), name]
            n %= value
    if n:
        if n < 100:
            words.append("and")
        words += _below_thousand(n)
    return words


@lru_cache(maxsize=4096)
def number_to_words(n: int, language: str = "en") -> tuple[str, ...]:
    """75 -> ("seventy", "five")."""
    lang = (language or "en").split("-")[0].split("_")[0].lower()
    if lang == "en":
        return tuple(_english(n))
    try:
        from num2words import num2words  # optional: only needed for languages other than English
    except ImportError as err:
        raise TemplateError(f"numbers in templates for language '{language}' need the num2words package "
                            "(pip install num2words), or write the numbers as words") from err
    try:
        text = num2words(n, lang=lang)
    except NotImplementedError as err:
        raise TemplateError(f"num2words does not support language '{language}'") from err
    return tuple(text.replace("-", " ").replace(",", "").split())


def replace_numbers(tokens: list[str], language: str = "en") -> list[str]:
    """Integer tokens become number words ("10" -> "ten", "-2" -> "minus two"); "3.5" stays."""
    out: list[str] = []
    for token in tokens:
        if NUMBER.match(token):
            out.extend(number_to_words(int(token), language))
        else:
            out.append(token)
    return out

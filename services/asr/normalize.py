"""Open-transcription text as the NLU's templates spell it: "Can I have a light-roast 12-ounce coffee?" ->
"can i have a light roast twelve ounce coffee".

Whisper writes sentences: capitals, punctuation, digits, hyphenated compounds and unit abbreviations. The
templates (and the closed grammar's output) are lower-case words with numbers spelled out, so the fuzzy
matcher would otherwise see "12-ounce" where the template has "twelve ounce". Pure functions, no state.
"""

from __future__ import annotations

import re

from services.nlu.numbers import number_to_words

# Abbreviations written right after a number ("12oz", "12 oz"): what a speaker said for them.
UNITS = {"oz": "ounce", "lb": "pound", "lbs": "pounds", "kg": "kilograms", "g": "grams", "ml": "milliliters",
         "l": "liters", "km": "kilometers", "m": "meters", "cm": "centimeters", "mm": "millimeters",
         "h": "hours", "hr": "hours", "hrs": "hours", "min": "minutes", "mins": "minutes", "s": "seconds",
         "sec": "seconds", "secs": "seconds", "am": "a m", "pm": "p m"}
SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus ", "°": " degrees ", "@": " at ", "#": " number "}
_ORDINAL_SUFFIX = re.compile(r"^([0-9]+)(st|nd|rd|th)$")
_NUMBER_UNIT = re.compile(r"^([0-9]+)([a-z]+)$")
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}\b)")
_DECIMAL = re.compile(r"\b([0-9]+)\.([0-9]+)\b")
_CLOCK = re.compile(r"\b([0-9]{1,2}):([0-9]{2})\b")
_NOT_WORD = re.compile(r"[^a-z0-9' ]+")
_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
             "nine": "ninth", "twelve": "twelfth"}


def normalize_text(text: str, language: str = "en") -> str:
    """Lower-case words: punctuation removed, hyphens split, numbers (and "12oz", "3rd", "7:30", "2.5") as
    number words."""
    text = text.lower()
    for symbol, spoken in SYMBOLS.items():
        text = text.replace(symbol, spoken)
    text = _THOUSANDS.sub("", text)
    text = _CLOCK.sub(lambda m: f"{m.group(1)} {'' if m.group(2) == '00' else m.group(2)}", text)
    text = _DECIMAL.sub(lambda m: f"{m.group(1)} point {' '.join(m.group(2))}", text)
    text = text.replace("-", " ").replace("\u2019", "'")
    text = _NOT_WORD.sub(" ", text)
    words: list[str] = []
    tokens = [t for t in (t.strip("'") for t in text.split()) if t]
    for index, token in enumerate(tokens):
        words.extend(_spoken(token, index, tokens, language))
    return " ".join(words)


def _spoken(token: str, index: int, tokens: list[str], language: str) -> list[str]:
    if token.isdigit():
        return list(number_to_words(int(token), language))
    ordinal = _ORDINAL_SUFFIX.match(token)
    if ordinal:
        return ordinal_words(int(ordinal.group(1)), language)
    with_unit = _NUMBER_UNIT.match(token)
    if with_unit:
        unit = with_unit.group(2)
        return [*number_to_words(int(with_unit.group(1)), language), *UNITS.get(unit, unit).split()]
    if token in UNITS and index > 0 and tokens[index - 1].isdigit():
        return UNITS[token].split()
    return [token]


def ordinal_words(n: int, language: str = "en") -> list[str]:
    """3 -> ["third"], 21 -> ["twenty", "first"] (English; other languages: the cardinal)."""
    words = list(number_to_words(n, language))
    if not language.lower().startswith("en"):
        return words
    last = words[-1]
    if last in _ORDINALS:
        words[-1] = _ORDINALS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return words

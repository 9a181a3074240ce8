"""Text a voice can speak: emoji, symbols and letters of another script are skipped, not read out.

Piper phonemizes with espeak-ng, which names what it cannot pronounce ("grinning face", "Chinese letter"); a
voice assistant should leave those out instead. Which script a voice reads follows from its language.
"""

from __future__ import annotations

import unicodedata

# Languages (ISO 639-1, as voices name them) whose script is not Latin; every other language reads Latin.
SCRIPT_OF_LANGUAGE = {
    **dict.fromkeys(("ru", "uk", "be", "bg", "mk", "sr", "kk", "ky", "mn", "tg"), "CYRILLIC"),
    "el": "GREEK", "he": "HEBREW", "yi": "HEBREW", "ka": "GEORGIAN", "hy": "ARMENIAN",
    **dict.fromkeys(("ar", "fa", "ur", "ps"), "ARABIC"),
    **dict.fromkeys(("hi", "mr", "ne", "sa"), "DEVANAGARI"),
    "bn": "BENGALI", "ta": "TAMIL", "te": "TELUGU", "kn": "KANNADA", "ml": "MALAYALAM", "gu": "GUJARATI",
    "pa": "GURMUKHI", "si": "SINHALA", "th": "THAI", "lo": "LAO", "km": "KHMER", "my": "MYANMAR",
    **dict.fromkeys(("zh", "yue"), "CJK"), "ja": "CJK", "ko": "HANGUL",
}
# Scripts that come together with a language's main one.
_EXTRA_SCRIPTS = {"CJK": {"CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "HANGUL"}, "HANGUL": {"HANGUL", "CJK"}}
_DROPPED_CATEGORIES = {"So", "Sk", "Cs", "Co", "Cn", "Cf", "Cc"}


def script_of(language: str) -> str:
    """The script of a language code such as ``en_US``, ``de-DE`` or ``ru``."""
    return SCRIPT_OF_LANGUAGE.get(language.replace("_", "-").split("-")[0].lower(), "LATIN")


def _letter_script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ")[0] if name else ""


def speakable(text: str, language: str) -> str:
    """``text`` without what a voice of ``language`` cannot speak (each run of it becomes one space)."""
    # Latin letters are kept for every language: names and brands in Latin turn up in any text.
    allowed = _EXTRA_SCRIPTS.get(script_of(language), {script_of(language)}) | {"LATIN"}
    out: list[str] = []
    dropped = previous_dropped = False
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if char in "\n\t\r":
            keep = True
        elif category in _DROPPED_CATEGORIES:
            keep = False
        elif category[0] == "M":
            keep = not previous_dropped  # an accent or variation selector goes with its base character
        elif category[0] == "L":
            keep = _letter_script(char) in allowed
        else:
            keep = True  # digits, punctuation, spaces, currency and maths signs: espeak-ng reads them right
        out.append(char if keep else " ")
        dropped |= not keep
        previous_dropped = not keep
    return " ".join("".join(out).split()) if dropped else "".join(out)

"""Guessed pronunciations: espeak-ng IPA mapped to CMU ARPAbet (pocketsphinx has no grapheme-to-phoneme)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable

from .dictionary import PronunciationError, normalize_word

# espeak-ng en-us IPA -> ARPAbet. Longest symbols are tried first, so diphthongs and r-coloured vowels
# win over their parts. Choices follow cmudict's habits: flaps and glottal stops are T, reduced vowels AH.
_IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # r-coloured and diphthong sequences
    "aɪɚ": ("AY", "ER"), "ɚɹ": ("ER",), "ɜːɹ": ("ER",), "aɪə": ("AY", "AH"), "aʊɚ": ("AW", "ER"), "aʊə": ("AW", "ER"),
    "ɑːɹ": ("AA", "R"), "ɔːɹ": ("AO", "R"), "oːɹ": ("AO", "R"), "ɛɹ": ("EH", "R"), "ɪɹ": ("IH", "R"),
    "ʊɹ": ("UH", "R"), "iə": ("IY", "AH"), "aɪ": ("AY",), "aʊ": ("AW",), "eɪ": ("EY",), "oʊ": ("OW",),
    "əʊ": ("OW",), "ɔɪ": ("OY",), "ɜː": ("ER",), "ɑː": ("AA",), "ɔː": ("AO",), "iː": ("IY",), "uː": ("UW",),
    "tʃ": ("CH",), "dʒ": ("JH",), "n̩": ("AH", "N"), "l̩": ("AH", "L"), "m̩": ("AH", "M"),
    # vowels
    "i": ("IY",), "ɪ": ("IH",), "ᵻ": ("IH",), "e": ("EY",), "ɛ": ("EH",), "æ": ("AE",), "a": ("AE",),
    "ɑ": ("AA",), "ɒ": ("AA",), "ɔ": ("AO",), "o": ("OW",), "ʊ": ("UH",), "u": ("UW",), "ʌ": ("AH",),
    "ə": ("AH",), "ɐ": ("AH",), "ɚ": ("ER",), "ɜ": ("ER",), "ɝ": ("ER",), "y": ("UW",), "ø": ("ER",),
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "ɡ": ("G",), "g": ("G",),
    "f": ("F",), "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",), "z": ("Z",), "ʃ": ("SH",),
    "ʒ": ("ZH",), "h": ("HH",), "m": ("M",), "n": ("N",), "ŋ": ("NG",), "l": ("L",), "ɹ": ("R",),
    "r": ("R",), "w": ("W",), "ʍ": ("W",), "j": ("Y",), "ʔ": ("T",), "ɾ": ("T",), "x": ("K",), "ç": ("HH",),
}
_MAX_SYMBOL = max(len(s) for s in _IPA_TO_ARPABET)
# Marks that carry no phone: stress, length (when not part of a longer symbol), syllable and tie marks.
_IGNORED = set("ˈˌːˑ.‖|-_͡‿'̩̃ ")


def ipa_to_arpabet(ipa: str) -> list[str]:
    """Map an espeak-ng IPA string to ARPAbet phones by greedy longest match; unknown marks are skipped."""
    phones: list[str] = []
    i = 0
    while i < len(ipa):
        for size in range(min(_MAX_SYMBOL, len(ipa) - i), 0, -1):
            mapped = _IPA_TO_ARPABET.get(ipa[i : i + size])
            if mapped is not None:
                phones.extend(mapped)
                i += size
                break
        else:
            i += 1  # stress/length/boundary marks, or a symbol English words do not use
    return phones


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def _espeak_ipa(lines: list[str], voice: str) -> list[str]:
    if not espeak_available():
        raise PronunciationError("espeak-ng is not installed; it is needed to guess pronunciations")
    proc = subprocess.run(
        ["espeak-ng", "-q", "-v", voice, "--ipa"],
        input="\n".join(lines).encode() + b"\n",
        capture_output=True,
        check=False,
        timeout=30,
    )
    if proc.returncode != 0:
        raise PronunciationError(f"espeak-ng failed (voice {voice}): {proc.stderr.decode(errors='replace').strip()}")
    return [line.strip() for line in proc.stdout.decode("utf-8", errors="replace").splitlines() if line.strip()]


def guess_pronunciations(words: Iterable[str], voice: str = "en-us") -> dict[str, list[str]]:
    """Guess phones for several words with one espeak-ng run (one input line per word)."""
    unique = list(dict.fromkeys(normalize_word(w) for w in words if w.strip()))
    if not unique:
        return {}
    ipa = _espeak_ipa(unique, voice)
    if len(ipa) != len(unique):  # espeak merged or dropped a line: fall back to one call per word
        ipa = [" ".join(_espeak_ipa([w], voice)) for w in unique]
    guesses: dict[str, list[str]] = {}
    for word, text in zip(unique, ipa, strict=True):
        phones = ipa_to_arpabet(text)
        if not phones:
            raise PronunciationError(f"could not guess a pronunciation for {word!r} (espeak-ng gave {text!r})")
        guesses[word] = phones
    return guesses


def guess_pronunciation(word: str, voice: str = "en-us") -> list[str]:
    """Guess the phones of one word with espeak-ng (no dictionary look-up)."""
    guessed = guess_pronunciations([word], voice).get(normalize_word(word))
    if guessed is None:  # a blank word (a g2p request can carry anything): nothing to say, not a crash
        raise PronunciationError(f"cannot guess a pronunciation for {word!r}: it has no letters to speak")
    return guessed

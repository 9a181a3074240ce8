"""Pronunciation dictionaries and guessed pronunciations (espeak-ng IPA mapped to CMU ARPAbet).

Reusable by any service that needs phones for words (ASR training, wake phrases)::

    from services.asr.pronunciations import lookup, guess_pronunciation, pronounce
    lookup("porcupine")            # [['P', 'AO', 'R', 'K', 'Y', 'AH', 'P', 'AY', 'N']] from the bundled cmudict
    guess_pronunciation("rhasspy") # ['R', 'AE', 'S', 'P', 'IY'] from espeak-ng (pocketsphinx has no G2P)
    pronounce("rhasspy")           # [Pronunciation(phones=[...], guessed=True)]: dictionary first, else a guess

Phones are the 39 ARPAbet phones of the pocketsphinx en-us model, without stress digits.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# The phone set of the bundled en-us acoustic model (plus SIL, which no word may use).
ARPABET_PHONES = frozenset(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split()
)

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


class PronunciationError(ValueError):
    """A word or dictionary line that cannot be turned into phones; the message names it."""


@dataclass(frozen=True)
class Pronunciation:
    phones: list[str]
    guessed: bool


def normalize_word(word: str) -> str:
    """Dictionary key of a word: cmudict is lower case."""
    return word.strip().lower()


def check_phones(phones: Iterable[str], where: str) -> list[str]:
    """Return the phones as a list, or raise naming ``where`` and the phones the model does not know."""
    result = [p.upper().rstrip("012") for p in phones]
    unknown = [p for p in result if p not in ARPABET_PHONES]
    if not result or unknown:
        raise PronunciationError(
            f"{where}: unknown phone(s) {' '.join(unknown) or '(none given)'}; "
            f"use ARPAbet phones: {' '.join(sorted(ARPABET_PHONES))}"
        )
    return result


class PronunciationDictionary:
    """word -> list of pronunciations (cmudict format: ``word P1 P2`` and ``word(2) P1 P2`` lines)."""

    def __init__(self, entries: Mapping[str, list[list[str]]] | None = None) -> None:
        self._entries: dict[str, list[list[str]]] = {k: [list(p) for p in v] for k, v in (entries or {}).items()}

    @classmethod
    def from_file(cls, path: Path | str, *, check: bool = False) -> PronunciationDictionary:
        """Read a dictionary file; ``check`` validates every phone (for user files, e.g. custom_words.txt)."""
        d = cls()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PronunciationError(f"pronunciation dictionary not found: {path}") from None
        d.merge_text(text, str(path), check=check)
        return d

    def merge_text(self, text: str, source: str, *, check: bool = True) -> None:
        """Add the entries of dictionary text; later entries of a word come after earlier ones."""
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) < 2:
                raise PronunciationError(f"{source} line {number}: expected 'word PH ON ES', got {line!r}")
            word = parts[0]
            if word.endswith(")") and "(" in word:  # alternative pronunciation marker: word(2)
                word = word[: word.index("(")]
            phones = check_phones(parts[1:], f"{source} line {number} ({word})") if check else parts[1:]
            self.add(word, phones)

    def add(self, word: str, phones: list[str]) -> None:
        prons = self._entries.setdefault(normalize_word(word), [])
        if phones not in prons:
            prons.append(list(phones))

    def lookup(self, word: str) -> list[list[str]]:
        """All pronunciations of a word (case-insensitive), [] when unknown."""
        return [list(p) for p in self._entries.get(normalize_word(word), [])]

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and normalize_word(word) in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def to_text(self, words: Iterable[str] | None = None) -> str:
        """Dictionary text (for pocketsphinx ``dict=``), of ``words`` only if given, as spelled there."""
        lines: list[str] = []
        keys = sorted(self._entries) if words is None else sorted(set(words))
        for word in keys:
            for i, phones in enumerate(self.lookup(word)):
                lines.append(f"{word if i == 0 else f'{word}({i + 1})'} {' '.join(phones)}")
        return "\n".join(lines) + "\n"


def bundled_dictionary_path() -> Path:
    from pocketsphinx import get_model_path

    return Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> PronunciationDictionary:
    return PronunciationDictionary.from_file(path)


def load_dictionary(path: Path | str | None = None) -> PronunciationDictionary:
    """The base dictionary (default: pocketsphinx's bundled cmudict), read once per process. Do not mutate."""
    return _load_cached(str(path or bundled_dictionary_path()))


def lookup(word: str, dictionary: PronunciationDictionary | None = None) -> list[list[str]]:
    """Pronunciations of ``word`` in ``dictionary`` (default: the bundled cmudict)."""
    return (dictionary or load_dictionary()).lookup(word)


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


def pronounce(
    word: str, dictionary: PronunciationDictionary | None = None, num_guesses: int = 1
) -> list[Pronunciation]:
    """Dictionary pronunciations of ``word``; a guessed one when the dictionary has none."""
    known = lookup(word, dictionary)
    if known:
        return [Pronunciation(p, guessed=False) for p in known[: max(1, num_guesses)]]
    return [Pronunciation(guess_pronunciation(word), guessed=True)]


def read_custom_words(path: Path) -> PronunciationDictionary:
    """The profile's custom_words.txt (missing file = no custom words); bad phones raise naming the line."""
    if not path.exists():
        return PronunciationDictionary()
    return PronunciationDictionary.from_file(path, check=True)


@dataclass
class VocabularyPronunciations:
    """Pronunciations for a vocabulary: custom words first, then the base dictionary, then guesses."""

    dictionary: PronunciationDictionary
    guessed: dict[str, list[str]]  # words that were in neither dictionary (a warning lists them)


def pronunciations_for(
    vocabulary: Iterable[str],
    custom: PronunciationDictionary | None = None,
    base: PronunciationDictionary | None = None,
    guess: bool = True,
) -> VocabularyPronunciations:
    """Build a dictionary with an entry for every word of ``vocabulary``, spelled as given."""
    base = base or load_dictionary()
    custom = custom or PronunciationDictionary()
    result = PronunciationDictionary()
    missing: list[str] = []
    for word in vocabulary:
        prons = custom.lookup(word) or base.lookup(word)
        if prons:
            for p in prons:
                result.add(word, p)
        else:
            missing.append(word)
    guessed: dict[str, list[str]] = {}
    if missing:
        if not guess:
            raise PronunciationError(
                f"word(s) not in the dictionary: {', '.join(sorted(missing))}; add them to custom_words.txt"
            )
        by_key = guess_pronunciations(missing)
        for word in missing:
            guessed[word] = by_key[normalize_word(word)]
            result.add(word, guessed[word])
    return VocabularyPronunciations(result, guessed)


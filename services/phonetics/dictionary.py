"""Pronunciation dictionaries in cmudict format: the bundled en-us one, custom words, phone checks.

Phones are the 39 ARPAbet phones of the pocketsphinx en-us model, without stress digits.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

# The phone set of the bundled en-us acoustic model (plus SIL, which no word may use).
ARPABET_PHONES = frozenset(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split()
)

class PronunciationError(ValueError):
    """A word or dictionary line that cannot be turned into phones; the message names it."""


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

    def merge_text(self, text: str, source: str, *, check: bool = True,
                   problems: dict[str, list[str]] | None = None) -> None:
        """Add the entries of dictionary text; later entries of a word come after earlier ones.

        With ``problems``, a bad line does not raise: its message is kept under its word (normalised; "" for a
        line without one) and its entry is kept as written, so a lookup shows what the file says. The caller
        decides which words matter (training: only the words its grammar uses)."""
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            word = parts[0]
            if word.endswith(")") and "(" in word:  # alternative pronunciation marker: word(2)
                word = word[: word.index("(")]
            try:
                if len(parts) < 2:
                    raise PronunciationError(f"{source} line {number}: expected 'word PH ON ES', got {line!r}")
                phones = check_phones(parts[1:], f"{source} line {number} ({word})") if check else parts[1:]
            except PronunciationError as err:
                if problems is None:
                    raise
                problems.setdefault(normalize_word(word) if len(parts) >= 2 else "", []).append(str(err))
                if len(parts) >= 2:
                    self.add(word, parts[1:])
                continue
            self.add(word, phones)

    def add(self, word: str, phones: list[str]) -> None:
        prons = self._entries.setdefault(normalize_word(word), [])
        if phones not in prons:
            prons.append(list(phones))

    def lookup(self, word: str) -> list[list[str]]:
        """All pronunciations of a word (case-insensitive), [] when unknown."""
        return [list(p) for p in self._entries.get(normalize_word(word), [])]

    def words(self) -> list[str]:
        """Every word with a pronunciation (normalised), in the order first seen."""
        return list(self._entries)

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


def read_custom_words(path: Path, problems: dict[str, list[str]] | None = None) -> PronunciationDictionary:
    """The profile's custom_words.txt (missing file = no custom words); bad phones raise naming the line, or,
    with ``problems``, are collected there by word (see ``merge_text``)."""
    if not path.exists():
        return PronunciationDictionary()
    d = PronunciationDictionary()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PronunciationError(f"cannot read {path}: {err}") from err
    d.merge_text(text, str(path), check=True, problems=problems)
    return d


def problems_for(words: Iterable[str], problems: Mapping[str, list[str]]) -> tuple[list[str], list[str]]:
    """(errors, warnings): the bad lines of the words used (they would be decoded wrong) and all the others
    (kept in the file, reported, harmless: nothing uses them)."""
    used = {normalize_word(w) for w in words}
    errors = [m for word, messages in problems.items() if word in used for m in messages]
    warnings = [m for word, messages in problems.items() if word not in used for m in messages]
    return errors, warnings

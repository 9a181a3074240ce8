"""Phones for words: the dictionary first, then a guess; a whole vocabulary at once (ASR training)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .dictionary import PronunciationDictionary, PronunciationError, load_dictionary, lookup, normalize_word
from .g2p import guess_pronunciation, guess_pronunciations


@dataclass(frozen=True)
class Pronunciation:
    phones: list[str]
    guessed: bool


def pronounce(
    word: str, dictionary: PronunciationDictionary | None = None, num_guesses: int = 1
) -> list[Pronunciation]:
    """Dictionary pronunciations of ``word``; a guessed one when the dictionary has none."""
    known = lookup(word, dictionary)
    if known:
        return [Pronunciation(p, guessed=False) for p in known[: max(1, num_guesses)]]
    return [Pronunciation(guess_pronunciation(word), guessed=True)]


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

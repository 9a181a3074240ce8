"""Phones for words, shared by speech to text (training) and wake-word spotting (keyphrases)::

    from services.phonetics import lookup, guess_pronunciation, pronounce
    lookup("porcupine")            # [['P', 'AO', 'R', 'K', 'Y', 'AH', 'P', 'AY', 'N']] from the bundled cmudict
    guess_pronunciation("rhasspy") # ['R', 'AE', 'S', 'P', 'IY'] from espeak-ng (pocketsphinx has no G2P)
    pronounce("rhasspy")           # [Pronunciation(phones=[...], guessed=True)]: dictionary first, else a guess

| module | what it holds |
|---|---|
| ``dictionary`` | cmudict-format dictionaries, the bundled en-us one, custom words, the ARPAbet phone set |
| ``g2p`` | espeak-ng IPA mapped to ARPAbet: guesses for words no dictionary has |
| ``pronunciations`` | dictionary first, else a guess; pronunciations for a whole vocabulary |
"""

from .dictionary import (
    ARPABET_PHONES,
    PronunciationDictionary,
    PronunciationError,
    bundled_dictionary_path,
    check_phones,
    load_dictionary,
    lookup,
    normalize_word,
    problems_for,
    read_custom_words,
)
from .g2p import espeak_available, guess_pronunciation, guess_pronunciations, ipa_to_arpabet
from .pronunciations import Pronunciation, VocabularyPronunciations, pronounce, pronunciations_for

__all__ = [
    "ARPABET_PHONES", "Pronunciation", "PronunciationDictionary", "PronunciationError", "VocabularyPronunciations",
    "bundled_dictionary_path", "check_phones", "espeak_available", "guess_pronunciation", "guess_pronunciations",
    "ipa_to_arpabet", "load_dictionary", "lookup", "normalize_word", "pronounce", "pronunciations_for",
    "problems_for", "read_custom_words",
]

"""Pronunciations: dictionary look-ups, espeak-ng guesses mapped to ARPAbet, custom words, vocabularies."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.asr.training import report_guesses
from services.phonetics import (
    ARPABET_PHONES,
    PronunciationError,
    guess_pronunciation,
    guess_pronunciations,
    ipa_to_arpabet,
    lookup,
    pronounce,
    pronunciations_for,
    read_custom_words,
)


def test_dictionary_lookup_is_case_insensitive_and_lists_alternatives() -> None:
    assert lookup("Porcupine") == [["P", "AO", "R", "K", "Y", "AH", "P", "AY", "N"]]
    assert ["DH", "AH"] in lookup("the") and ["DH", "IY"] in lookup("the")
    assert lookup("zorblaxian") == []


@pytest.mark.parametrize(
    ("word", "phones"),
    [("rhasspy", "R AE S P IY"), ("snowboy", "S N OW B OY"), ("kitchen", "K IH CH AH N"),
     ("thermostat", "TH ER M AH S T AE T"), ("judge", "JH AH JH"), ("going", "G OW IH NG")],
)
def test_espeak_guesses_map_to_the_model_phone_set(word: str, phones: str) -> None:
    assert guess_pronunciation(word) == phones.split()


def test_ipa_mapping_prefers_longest_symbols_and_skips_stress() -> None:
    assert ipa_to_arpabet("hˈaɪɚɹɑːɹki") == "HH AY ER R AA R K IY".split()
    assert ipa_to_arpabet("tʃˈɛɹ") == ["CH", "EH", "R"]
    assert ipa_to_arpabet("bˈʌʔn̩") == ["B", "AH", "T", "AH", "N"]


def test_batch_guesses_keep_words_apart() -> None:
    guesses = guess_pronunciations(["zigbee", "hermesh", "rhasspy", "zigbee"])
    assert set(guesses) == {"zigbee", "hermesh", "rhasspy"}
    assert all(set(p) <= ARPABET_PHONES and p for p in guesses.values())


def test_pronounce_prefers_the_dictionary() -> None:
    assert pronounce("lamp")[0].guessed is False
    guessed = pronounce("rhasspy")
    assert guessed[0].guessed is True and guessed[0].phones == ["R", "AE", "S", "P", "IY"]


def test_custom_words_override_and_bad_phones_are_named(tmp_path: Path) -> None:
    path = tmp_path / "custom_words.txt"
    path.write_text("# my words\nrhasspy R AA S P IY\nlamp L AE M P\nlamp(2) L AA M P\n")
    custom = read_custom_words(path)
    assert custom.lookup("rhasspy") == [["R", "AA", "S", "P", "IY"]]
    assert len(custom.lookup("lamp")) == 2
    path.write_text("ok OW K EY\nbroken B R XX K AH N\n")
    with pytest.raises(PronunciationError, match=r"custom_words.txt line 2 \(broken\).*XX"):
        read_custom_words(path)
    assert len(read_custom_words(tmp_path / "missing.txt")) == 0


def test_vocabulary_pronunciations_guess_missing_words_and_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    custom = read_custom_words(tmp_path / "none.txt")
    prons = pronunciations_for(["Turn", "on", "zigbee", "hermesh"], custom=custom)
    assert set(prons.guessed) == {"zigbee", "hermesh"}
    # entries are written as the grammar spells them (pocketsphinx dictionaries are case-sensitive)
    assert "Turn T ER N" in prons.dictionary.to_text(["Turn"])
    with caplog.at_level(logging.WARNING):
        report_guesses(prons.guessed, tmp_path)
    assert "hermesh" in caplog.text and "zigbee" in caplog.text
    assert "zigbee Z IH G B IY" in (tmp_path / "trained" / "asr" / "unknown_words.txt").read_text()
    with pytest.raises(PronunciationError, match="hermesh, zigbee"):
        pronunciations_for(["on", "zigbee", "hermesh"], guess=False)

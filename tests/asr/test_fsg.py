"""Sphinx FSG text is parsed and checked in Python before it can reach (and crash) a C decoder."""

from __future__ import annotations

import pytest

from services.asr.fsg import FsgError, check_words, covering_sentences, parse_fsg

from .grammar import LIGHTS_FSG, LIGHTS_SENTENCES


def test_parse_round_trip_and_acceptance() -> None:
    fsg = parse_fsg(LIGHTS_FSG)
    assert (fsg.num_states, fsg.start, fsg.final) == (13, 0, 12)
    assert parse_fsg(fsg.to_text()).transitions == fsg.transitions
    for sentence in LIGHTS_SENTENCES:
        assert fsg.accepts(sentence.split())
    assert fsg.accepts("turn on living room lamp".split())  # "the" is optional (epsilon arc)
    assert not fsg.accepts("turn on the".split())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("NUM_STATES 13", "NUM_STATES x"), "line 2: malformed NUM_STATES"),
        (("TRANSITION 0 1 0.6 turn", "TRANSITION 0 1 turn"), "line 5"),
        (("TRANSITION 0 1 0.6 turn", "TRANSITION 0 1 1.5 turn"), "not in"),
        (("FINAL_STATE 12", "FINAL_STATE 40"), "state 40 is outside"),
        (("FSG_END", ""), "FSG_END is missing"),
        (("START_STATE 0", "BEGIN 0"), "unknown keyword 'BEGIN'"),
    ],
)
def test_malformed_grammars_name_the_problem(change: tuple[str, str], message: str) -> None:
    with pytest.raises(FsgError, match=message):
        parse_fsg(LIGHTS_FSG.replace(*change), "lights.fsg")


def test_a_grammar_without_words_is_refused() -> None:
    with pytest.raises(FsgError, match="no words"):
        parse_fsg("FSG_BEGIN x\nNUM_STATES 2\nSTART_STATE 0\nFINAL_STATE 1\nTRANSITION 0 1 1.0\nFSG_END\n")


def test_words_without_pronunciation_are_listed() -> None:
    with pytest.raises(FsgError, match="2 word.*kitchen, rhasspy"):
        check_words(parse_fsg(LIGHTS_FSG).words(), lambda w: w not in {"rhasspy", "kitchen"})


def test_covering_sentences_use_every_word_transition() -> None:
    fsg = parse_fsg(LIGHTS_FSG)
    sentences = covering_sentences(fsg)
    assert all(fsg.accepts(s) for s in sentences)
    spoken = {w for s in sentences for w in s}
    assert spoken == fsg.words()
    assert len(sentences) < len(fsg.transitions)

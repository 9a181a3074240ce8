"""``asr.engine: hybrid`` (issue 17): the closed grammar first, faster-whisper when the grammar's answer is not
understood or not confident enough."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hermes.wav import to_pcm16k_mono
from services.asr.engine import Transcript
from services.asr.hybrid_engine import HybridAsrEngine, same_words
from services.asr.training import training_data_from_profile
from services.asr.whisper_engine import bundled_model_path
from services.engine_loader import load_engine
from services.nlu.training import load_trained_profile, train_profile
from tests.speech.voices import sd

from .speech import utterance

pytestmark = [pytest.mark.timeout(300),
              # CI installs the extra (scripts/install.sh --test): there a missing model fails instead
              pytest.mark.skipif(bundled_model_path() is None and not os.environ.get("CI"),
                                 reason="hermesh[whisper] is not installed")]


@pytest.fixture(scope="module")
def coffee(tmp_path_factory: pytest.TempPathFactory) -> Path:
    profile = sd.coffee_profile(tmp_path_factory.mktemp("hybrid") / "coffee")
    train_profile(profile)
    return profile


def hybrid(profile: Path, **options: object) -> HybridAsrEngine:
    engine = load_engine("asr", "hybrid", options, profile_dir=profile)
    assert isinstance(engine, HybridAsrEngine)
    engine.train(training_data_from_profile(profile))
    return engine


def transcribe(engine: HybridAsrEngine, pcm: bytes) -> Transcript:
    stream = engine.open_stream()
    stream.feed(pcm)
    return stream.finish()


def test_a_sentence_outside_the_grammar_falls_back_to_whisper(coffee: Path) -> None:
    """The grammar can only answer a coffee order (here with a likelihood of ~0.88, real orders 0.92-0.96)."""
    engine = hybrid(coffee, min_likelihood=0.9)
    transcript = transcribe(engine, utterance("add milk to the shopping list"))
    text = transcript.text
    assert "shopping list" in text and engine.fallbacks == 1
    assert transcript.source == "whisper"  # which path answered, for textCaptured's source
    assert load_trained_profile(coffee).recognize(text, fuzzy=False) == []  # so the NLU says not recognised


def test_what_the_grammar_understands_stays_the_grammar_s(coffee: Path) -> None:
    engine = hybrid(coffee, min_likelihood=0.9)
    u = sd.sample(sd.coffee_utterances(), 20)[0]
    grammar_text = " ".join(t.value for t in engine.grammar.decode(to_pcm16k_mono(u.wav), None)[0])
    transcript = transcribe(engine, to_pcm16k_mono(u.wav))
    assert transcript.text == grammar_text and transcript.source == "grammar"
    assert engine.fallbacks == 0
    stream = engine.open_stream()
    assert stream.finish().source is None  # no audio: no text, and no path answered


def test_an_empty_grammar_answer_falls_back(coffee: Path) -> None:
    engine = hybrid(coffee)
    assert engine.understood("", None) is False
    assert engine.understood("can i have a large latte", None) is True
    assert engine.understood("can i have a large latte", ["noSuchIntent"]) is False


def test_same_command_is_words_in_order() -> None:
    grammar = "i'd like an latte with sugar and a bit of whole milk"
    assert same_words(grammar, "like a latte with sugar and a little whole milk") > 0.5  # garbled: grammar's stays
    assert same_words("i'd like a double shot latte", "add milk to the shopping list") < 0.5  # another sentence

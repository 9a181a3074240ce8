"""TTS engines without a broker: real espeak-ng."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from hermes.wav import read_wav
from services.tts.engine import TtsConfigError, TtsEngineError, scale_volume
from services.tts.espeak import parse_voice_list
from services.tts.settings import EspeakTtsSettings, TtsSettings
from tests.engines import tts_engine


def espeak(**kwargs):
    return tts_engine(TtsSettings(espeak=EspeakTtsSettings(**kwargs)), profile_dir=None)


def samples(wav: bytes) -> np.ndarray:
    info, frames = read_wav(wav)
    assert info.width == 2
    return np.frombuffer(frames, dtype="<i2")


def seconds(wav: bytes) -> float:
    return read_wav(wav)[0].seconds


def test_wav_has_a_truthful_header():
    wav = espeak().synthesize("turn on the living room lamp")
    with wave.open(io.BytesIO(wav)) as reader:
        assert (reader.getframerate(), reader.getsampwidth(), reader.getnchannels()) == (22050, 2, 1)
        # espeak-ng's own header claims ~1e9 frames; ours must match the data
        assert reader.getnframes() * 2 + 44 == len(wav)
    assert 1.0 < seconds(wav) < 4.0
    assert np.abs(samples(wav)).max() > 5000


def test_rate_pitch_and_volume_change_the_sound():
    text = "what time is it"
    slow, fast = espeak(rate=100).synthesize(text), espeak(rate=300).synthesize(text)
    assert seconds(slow) > 1.8 * seconds(fast)
    quiet, loud = espeak(volume=20).synthesize(text), espeak(volume=200).synthesize(text)
    assert np.abs(samples(quiet)).mean() * 4 < np.abs(samples(loud)).mean()
    assert espeak(pitch=10).synthesize(text) != espeak(pitch=90).synthesize(text)


def test_ssml_breaks_and_tags_are_not_read_aloud():
    engine = espeak()
    plain = engine.synthesize("<speak>hello world</speak>")
    with_break = engine.synthesize('<speak>hello <break time="2s"/> world</speak>')
    assert 1.5 < seconds(with_break) - seconds(plain) < 2.5
    # without SSML handling the tags would be spelled out and take far longer
    assert seconds(plain) < seconds(engine.synthesize("hello world")) + 0.5


def test_voice_and_lang_choose_the_espeak_voice():
    engine = espeak(voices_by_lang={"de-DE": "de"})
    english = engine.synthesize("hallo")
    assert engine.synthesize("hallo", lang="de-DE") == engine.synthesize("hallo", voice="de")
    assert engine.synthesize("hallo", lang="de-DE") != english
    assert engine.synthesize("hallo", voice="en-us+f3") != english
    assert engine.synthesize("hallo", lang="fr") == engine.synthesize("hallo", voice="fr")
    # a language the configured voice already speaks keeps that voice (en-us stays American)
    assert engine.synthesize("hallo", lang="en") == english
    assert engine.synthesize("hallo", lang="en-US") == english


def test_unknown_voice_is_an_error_naming_it():
    with pytest.raises(TtsEngineError, match="'xx-nope'.*does not exist"):
        espeak().synthesize("hello", voice="xx-nope")


def test_text_that_looks_like_an_option_is_spoken():
    assert seconds(espeak().synthesize("-v de --help")) > 0.5


def test_voices_list_has_languages_and_no_mbrola():
    voices = espeak().voices()
    ids = [v.voice_id for v in voices]
    assert "en-us" in ids and "de" in ids
    assert len(ids) == len(set(ids)) > 50
    assert all("mbrola" not in (v.description or "") for v in voices)
    assert next(v for v in voices if v.voice_id == "en-us").description == "English (America), male"


def test_voice_list_parser_skips_mbrola_and_duplicates():
    text = (
        "Pty Language       Age/Gender VoiceName          File                 Other Languages\n"
        " 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)\n"
        " 5  en-us           --/F      us-mbrola-1        mb/mb-us1            (en 8)\n"
        " 5  en-uk           --/M      english-mb-en1     mb/mb-en1            (en-gb 3)(en 2)\n"
        " 5  fr-fr           --/F      French_(France)    roa/fr\n"
    )
    assert [(v.voice_id, v.description) for v in parse_voice_list(text)] == [
        ("en-us", "English (America), male"),
        ("fr-fr", "French (France), female"),
    ]


def test_scale_volume():
    wav = espeak().synthesize("hello")
    half = scale_volume(wav, 0.5)
    assert read_wav(half)[0] == read_wav(wav)[0]
    assert np.allclose(samples(half), samples(wav) * 0.5, atol=1)


def test_user_engine_class_by_module_path():
    package = __name__.rpartition(".")[0]
    engine = tts_engine(
        TtsSettings(engine=f"{package}.tone_engine.ToneTtsEngine", custom={"frequency": 880}), profile_dir=None
    )
    assert [v.voice_id for v in engine.voices()] == ["tone"]
    assert read_wav(engine.synthesize("one two three"))[0].rate == 8000
    with pytest.raises(TtsConfigError, match="has no class"):
        tts_engine(TtsSettings(engine=f"{package}.tone_engine.Nope"), profile_dir=None)
    with pytest.raises(TtsConfigError, match="neither"):
        tts_engine(TtsSettings(engine="festival"), profile_dir=None)

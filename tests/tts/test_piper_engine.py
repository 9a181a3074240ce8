"""The Piper engine with the real piper-tts and the bundled en_US-joe-medium voice (no broker)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hermes.errors import TtsError
from hermes.wav import read_wav
from services.engine_loader import load_engine
from services.tts.engine import TtsConfigError, TtsEngineError, synthesize_stream
from services.tts.piper_engine import BUNDLED_VOICE, PiperTtsEngine
from services.tts.settings import PiperTtsSettings, TtsSettings
from tests.engines import tts_engine

from .piper_voices import EXACT, add_corrupt_voice, add_two_speaker_voice, add_voice, bundled_model

FIVE_SENTENCES = ("Good morning, it is seven o'clock. The kitchen light is on. Outside it is twelve degrees. "
                  "Your first meeting starts at nine. Have a nice day.")


def piper(profile_dir: Path | None = None, **options) -> PiperTtsEngine:
    return tts_engine(TtsSettings(engine="piper", piper=PiperTtsSettings(**options)), profile_dir)


@pytest.fixture(scope="module")
def exact() -> PiperTtsEngine:
    return piper(**EXACT)


def pcm(wav: bytes) -> np.ndarray:
    info, frames = read_wav(wav)
    assert (info.rate, info.width, info.channels) == (22050, 2, 1)
    return np.frombuffer(frames, dtype="<i2")


def seconds(wav: bytes) -> float:
    return len(pcm(wav)) / 22050


def test_the_bundled_voice_is_loaded_when_the_engine_is_made_and_speaks_at_its_own_rate(exact):
    assert exact.loaded_voices() == [bundled_model()]
    assert exact.startup_error is None
    started = time.perf_counter()
    wav = exact.synthesize("turn on the living room lamp")
    assert time.perf_counter() - started < 2.0  # no loading per request
    assert 1.0 < seconds(wav) < 4.0
    assert np.abs(pcm(wav)).max() > 5000
    assert exact.loaded_voices() == [bundled_model()]


def test_options_change_the_sound():
    text = "what time is it"
    slow, fast = piper(length_scale=1.6, **EXACT).synthesize(text), piper(length_scale=0.7, **EXACT).synthesize(text)
    assert seconds(slow) > 1.8 * seconds(fast)
    quiet, loud = piper(volume=0.2, **EXACT).synthesize(text), piper(**EXACT).synthesize(text)
    assert np.abs(pcm(quiet)).mean() * 4 < np.abs(pcm(loud)).mean()
    noisy = piper(noise_scale=1.0, noise_w=1.0)
    assert noisy.synthesize(text) != noisy.synthesize(text)  # noise is random; without it speech is exact
    two = "It is late. Go to bed."
    gap = seconds(piper(sentence_silence=1.0, **EXACT).synthesize(two)) - seconds(piper(**EXACT).synthesize(two))
    assert gap == pytest.approx(1.0, abs=0.01)  # one pause between the two sentences, none after the last


def test_sentences_stream_one_by_one_and_the_first_comes_before_the_last_is_made(exact):
    arrivals, chunks = [], []
    started = time.perf_counter()
    for chunk in exact.synthesize_stream(FIVE_SENTENCES):
        arrivals.append(time.perf_counter() - started)
        chunks.append(chunk)
    assert len(chunks) == 5
    # Each sentence takes its own synthesis time: the first is there well before the fifth has been made.
    assert arrivals[0] < 0.5 * arrivals[-1]
    assert all(a < b for a, b in zip(arrivals, arrivals[1:], strict=False))
    whole = exact.synthesize(FIVE_SENTENCES)
    assert np.array_equal(np.concatenate([pcm(c) for c in chunks]), pcm(whole))  # the same audio, in pieces
    # The interface's helper streams where an engine can, and gives the whole WAV of one that cannot.
    assert len(list(synthesize_stream(exact, FIVE_SENTENCES))) == 5
    espeak = tts_engine(TtsSettings(), None)
    assert list(synthesize_stream(espeak, "one. two.")) == [espeak.synthesize("one. two.")]


def test_ssml_tags_are_not_read_and_breaks_are_silence(exact):
    plain = exact.synthesize("hello world")
    assert exact.synthesize("<speak><p>hello <emphasis>world</emphasis></p></speak>") == plain
    with_break = exact.synthesize('<speak>hello <break time="2s"/> world</speak>')
    assert seconds(with_break) - seconds(plain) == pytest.approx(2.0, abs=0.35)
    samples = pcm(with_break)
    quiet = [i for i in range(0, len(samples) - 4410, 2205) if not samples[i:i + 4410].any()]
    assert quiet, "a break is digital silence"
    assert seconds(exact.synthesize('<speak><break time="1s"/></speak>')) == pytest.approx(1.0, abs=0.01)


def test_empty_text_is_empty_audio_and_emoji_or_other_scripts_are_skipped(exact):
    for nothing in ("", "   ", "😀🎉", "<speak></speak>", "你好"):
        assert len(pcm(exact.synthesize(nothing))) == 0, nothing
        assert list(exact.synthesize_stream(nothing)) == []
    plain = exact.synthesize("turn on the lamp")
    assert exact.synthesize("turn on 💡 the lamp 👍🏽") == plain
    assert exact.synthesize("turn on the 灯 lamp") == plain
    assert exact.synthesize("turn on the лампа lamp") == plain


def test_voices_lists_the_bundled_voice_and_the_voices_folder(tmp_path):
    add_voice(tmp_path / "voices", "de_DE-test-medium")
    (tmp_path / "voices" / "broken.onnx").write_bytes(b"x")
    (tmp_path / "voices" / "broken.onnx.json").write_text("{not json")
    engine = piper(tmp_path, voices_dir="voices", **EXACT)
    voices = {v.voice_id: v for v in engine.voices()}
    assert list(voices) == [BUNDLED_VOICE, "de_DE-test-medium"]  # the broken one is left out
    joe = voices[BUNDLED_VOICE]
    assert joe.languages == ("en_US",) and joe.speakers == ()
    assert joe.description == "English United States, joe, medium"
    assert voices["de_DE-test-medium"].languages == ("de_DE",)


def test_voice_by_name_path_and_language_and_a_bounded_cache(tmp_path):
    voices_dir = tmp_path / "voices"
    german = add_voice(voices_dir, "de_DE-test-medium")
    elsewhere = add_voice(tmp_path / "elsewhere", "fr_FR-path-medium", "fr_FR")
    engine = piper(tmp_path, voices_dir="voices", cache_size=1, voices_by_lang={"fr": str(elsewhere)}, **EXACT)
    english = engine.synthesize("hello")
    assert engine.synthesize("hello", voice="de_DE-test-medium") == english  # the same model under another name
    assert engine.loaded_voices() == [german]  # cache_size 1: the bundled voice went
    engine.synthesize("hello", lang="en-US")
    assert engine.loaded_voices() == [bundled_model()]
    engine.synthesize("hallo", lang="de")  # a voice of the language, found in voices_dir
    assert engine.loaded_voices() == [german]
    engine.synthesize("bonjour", lang="fr")  # voices_by_lang, here a path
    assert engine.loaded_voices() == [elsewhere]
    engine.synthesize("hi", voice="elsewhere/fr_FR-path-medium.onnx")  # a path relative to the profile
    assert engine.loaded_voices() == [elsewhere]
    with pytest.raises(TtsEngineError, match=r"no piper voice speaks 'xx-nope'.*en_US-joe-medium \(en_US\)"):
        engine.synthesize("hello", lang="xx-nope")
    two = piper(tmp_path, voices_dir="voices", **EXACT)
    two.synthesize("hello", voice="de_DE-test-medium")
    assert two.loaded_voices() == [bundled_model(), german]  # default cache_size 2


def test_unknown_voice_is_an_error_naming_the_voices_there_are(tmp_path):
    add_voice(tmp_path / "voices", "de_DE-test-medium")
    engine = piper(tmp_path, voices_dir="voices", **EXACT)
    with pytest.raises(TtsEngineError, match=r"unknown piper voice 'nope'; installed voices: en_US-joe-medium, "
                                             r"de_DE-test-medium") as caught:
        engine.synthesize("hello", voice="nope")
    assert caught.value.code == "piper-unknown-voice"
    with pytest.raises(TtsEngineError, match="unknown piper voice"):
        piper(tmp_path, voice="nope").synthesize("hello")


def test_a_missing_or_corrupt_voice_file_is_an_error_naming_its_path_at_start_and_on_each_say(tmp_path):
    missing = tmp_path / "gone" / "en_US-gone-medium.onnx"
    engine = piper(tmp_path, voice=str(missing))
    assert engine.startup_error is not None and str(missing) in engine.startup_error.message
    for _ in range(2):
        with pytest.raises(TtsEngineError, match=f"{missing}.*does not exist"):
            engine.synthesize("hello")
    corrupt = add_corrupt_voice(tmp_path / "voices", "en_US-corrupt-medium")
    started = time.perf_counter()
    engine = piper(tmp_path, voice="voices/en_US-corrupt-medium.onnx")
    assert engine.startup_error is not None and engine.startup_error.code == "piper-voice-corrupt"
    with pytest.raises(TtsEngineError, match=f"piper voice model '{corrupt}' cannot be loaded") as caught:
        engine.synthesize("hello")
    assert caught.value.code == "piper-voice-corrupt"
    assert time.perf_counter() - started < 10  # a clear error, not a hang
    # The voices folder still works: the bundled voice speaks when asked for by name.
    assert seconds(engine.synthesize("hello", voice=BUNDLED_VOICE)) > 0.3
    # A file fixed in place is used at the next say, with no restart.
    corrupt.unlink()
    corrupt.symlink_to(bundled_model())
    assert seconds(engine.synthesize("hello")) > 0.3


def test_speakers_are_listed_and_chosen_by_name_or_id_and_bad_options_are_errors(tmp_path):
    with pytest.raises(TtsEngineError, match="has one speaker"):
        piper(speaker="alice").synthesize("hello")
    # A config that claims three speakers over the one-speaker model: listed, and the speaker resolved; the
    # model then refuses a speaker input, which must be a clear error naming the file when it is loaded.
    trio = add_voice(tmp_path / "voices", "en_US-trio-medium", "en_US", speakers=("alice", "bob", "carol"))
    engine = piper(tmp_path, voices_dir="voices", voice="en_US-trio-medium", speaker="bob")
    assert next(v for v in engine.voices() if v.voice_id == "en_US-trio-medium").speakers == ("alice", "bob", "carol")
    assert engine.startup_error is not None and "sid" in engine.startup_error.message
    with pytest.raises(TtsEngineError, match=f"piper voice model '{trio}' cannot be loaded:.*sid"):
        engine.synthesize("hello")
    with pytest.raises(TtsEngineError, match=r"has no speaker 'dave'; its speakers: alice, bob, carol"):
        piper(tmp_path, voices_dir="voices", voice="en_US-trio-medium", speaker="dave").synthesize("hello")
    with pytest.raises(TtsEngineError, match=r"has speakers 0\.\.2, not 7"):
        piper(tmp_path, voices_dir="voices", voice="en_US-trio-medium", speaker=7).synthesize("hello")
    with pytest.raises(TtsConfigError, match="length_scale"):
        load_engine("tts", "piper", {"length_scale": 0}, profile_dir=tmp_path)
    with pytest.raises(TtsConfigError, match="cache_size"):
        load_engine("tts", "piper", {"cache_size": 0}, profile_dir=tmp_path)


def test_a_say_speaker_reaches_a_multi_speaker_model_and_one_it_lacks_is_refused_naming_its_speakers(tmp_path,
                                                                                                    exact):
    """A real two-speaker model (speaker 1 speaks 1.5x as slowly): the speaker given per say, by name or id, is
    the one heard; over the tts.piper.speaker setting too."""
    add_two_speaker_voice(tmp_path / "voices", "en_US-pair-medium")
    engine = piper(tmp_path, voices_dir="voices", voice="en_US-pair-medium", speaker="slow_joe", **EXACT)
    text = "turn on the living room lamp"
    assert next(v for v in engine.voices() if v.voice_id == "en_US-pair-medium").speakers == ("joe", "slow_joe")
    joe, by_id = engine.synthesize(text, speaker="joe"), engine.synthesize(text, speaker="0")
    slow = engine.synthesize(text, speaker="slow_joe")
    configured = engine.synthesize(text)  # no say speaker: the setting's
    streamed = b"".join(pcm(w).tobytes() for w in synthesize_stream(engine, text, speaker="1"))
    # Speaker 0 is the bundled voice sample for sample: the id reached the model and chose its speaker.
    assert np.array_equal(pcm(joe), pcm(exact.synthesize(text))) and np.array_equal(pcm(by_id), pcm(joe))
    assert 1.25 < seconds(slow) / seconds(joe) < 1.6
    assert np.array_equal(pcm(configured), pcm(slow)) and streamed == pcm(slow).tobytes()
    for wrong in ("dave", "2", "-1"):
        with pytest.raises(TtsEngineError, match=r"piper voice 'en_US-pair-medium' has no speaker .*; "
                                                 r"its speakers: joe, slow_joe") as refused:
            engine.synthesize(text, speaker=wrong)
        assert refused.value.code == TtsError.REFUSED_CODE  # the caller's mistake: HTTP 400, not 502
    # A one-speaker voice ignores a say's speaker, as wyoming-piper does (Home Assistant may send one).
    assert np.array_equal(pcm(exact.synthesize(text, speaker="slow_joe")), pcm(exact.synthesize(text)))


def test_without_the_piper_package_only_choosing_piper_fails_saying_how_to_install():
    code = (
        "import sys; sys.modules['piper'] = None\n"
        "from pathlib import Path\n"
        "from services.engine_loader import load_engine\n"
        "load_engine('tts', 'espeak', {}, profile_dir=Path('.'))\n"
        "try:\n"
        "    load_engine('tts', 'piper', {}, profile_dir=Path('.'))\n"
        "except Exception as err:\n"
        "    print(type(err).__name__, err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("TtsConfigError tts engine 'piper': the piper-tts package is not installed")
    assert "bash scripts/install.sh --piper" in done.stdout

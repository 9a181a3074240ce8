"""Wake engines without a broker: real pocketsphinx on espeak-ng speech, precise through a fake engine."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from services.wake.engine import WakeConfigError, WakeEngineError
from services.wake.settings import (
    PocketsphinxWakeSettings,
    PreciseWakeSettings,
    WakePhraseSettings,
    WakeSettings,
)
from tests.engines import wake_engine

from .speech import VOICES, build_stream, espeak_pcm, other_speech, silence, wake_utterances

FAKE_ENGINE = Path(__file__).with_name("fake_precise_engine.py")


def pocketsphinx_engine(tmp_path: Path, *phrases: WakePhraseSettings, **kwargs):
    settings = WakeSettings(pocketsphinx=PocketsphinxWakeSettings(phrases=list(phrases), **kwargs))
    return wake_engine(settings, tmp_path)


def feed(detector, pcm: bytes, chunk: int = 2048):
    """Feed like audio frames arrive (64 ms pieces); returns all detections."""
    found = []
    for start in range(0, len(pcm), chunk):
        found += detector.process(pcm[start : start + chunk])
    return found


def test_one_detection_per_wake_utterance_in_noisy_speech(tmp_path):
    engine = pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="bumblebee", threshold=1e-30))
    stream = wake_utterances("bumblebee", VOICES)
    detections = feed(engine.new_detector(), stream.pcm)
    assert len(detections) == len(stream.marks)
    for detection, (start, end) in zip(detections, stream.marks, strict=True):
        assert detection.model.wakeword_id == "bumblebee"
        # fires after the phrase began and before the next utterance starts
        assert start < detection.stream_seconds < end + 1.5
    engine.close()


def test_sixty_seconds_of_other_speech_fire_nothing(tmp_path):
    engine = pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="bumblebee", threshold=1e-30))
    stream = other_speech(60.0)
    assert stream.seconds >= 60.0
    assert feed(engine.new_detector(), stream.pcm) == []
    engine.close()


def test_several_phrases_each_with_its_own_threshold(tmp_path):
    grasshopper = espeak_pcm("grasshopper", "en-us+m3")
    bumblebee = espeak_pcm("bumblebee", "en-us+m3")
    stream = build_stream([silence(1.0), ("w", grasshopper), silence(1.5), ("w", bumblebee), silence(1.5)])

    both = pocketsphinx_engine(
        tmp_path,
        WakePhraseSettings(phrase="bumblebee", threshold=1e-30),
        WakePhraseSettings(phrase="grasshopper", threshold=1e-30, wakeword_id="hopper"),
    )
    assert [m.wakeword_id for m in both.models] == ["bumblebee", "hopper"]
    found = feed(both.new_detector(), stream.pcm)
    assert [d.model.wakeword_id for d in found] == ["hopper", "bumblebee"]

    # A strict threshold on one phrase silences it without touching the other.
    strict = pocketsphinx_engine(
        tmp_path,
        WakePhraseSettings(phrase="bumblebee", threshold=1e-30),
        WakePhraseSettings(phrase="grasshopper", threshold=1e-1),
    )
    assert [d.model.wakeword_id for d in feed(strict.new_detector(), stream.pcm)] == ["bumblebee"]


def test_detectors_keep_separate_state(tmp_path):
    engine = pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="bumblebee"))
    stream = wake_utterances("bumblebee", VOICES[:1])
    half = len(stream.pcm) // 2 // 2048 * 2048
    first, second = engine.new_detector(), engine.new_detector()
    # interleave: the second site hears only the first half (no wake phrase completed there)
    found_first = feed(first, stream.pcm[:half]) + feed(first, stream.pcm[half:])
    found_second = feed(second, stream.pcm[:half])
    assert len(found_first) == 1
    assert found_second == []


def test_reset_forgets_a_half_heard_phrase(tmp_path):
    engine = pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="bumblebee"))
    stream = wake_utterances("bumblebee", VOICES[:1])
    start, end = stream.marks[0]
    # cut the stream 2/3 into the phrase, reset, then play the rest: the phrase must not complete
    cut = int((start + (end - start) * 2 / 3) * 16000) * 2
    detector = engine.new_detector()
    assert feed(detector, stream.pcm[:cut]) == []
    detector.reset()
    assert feed(detector, stream.pcm[cut:]) == []
    # the same stream without the reset does fire
    assert len(feed(engine.new_detector(), stream.pcm)) == 1


def test_unknown_word_is_a_startup_error_naming_the_word(tmp_path):
    with pytest.raises(WakeConfigError, match="'zorblax'") as info:
        pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="hey zorblax"), guess_unknown_words=False)
    assert "hey zorblax" in str(info.value)


def test_unknown_word_with_given_or_guessed_pronunciation(tmp_path):
    given = pocketsphinx_engine(
        tmp_path, WakePhraseSettings(phrase="hey zorblax"), words={"zorblax": "Z AO R B L AE K S"},
        guess_unknown_words=False,
    )
    assert given.models[0].words == "hey zorblax"
    guessed = pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="okay rhasspy"))
    assert guessed.models[0].wakeword_id == "okay_rhasspy"
    assert guessed.new_detector().process(bytes(32000)) == []


def test_custom_words_file_of_the_profile_is_used(tmp_path):
    (tmp_path / "custom_words.txt").write_text("zorblax Z AO R B L AE K S\n", encoding="utf-8")
    engine = pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="hey zorblax"), guess_unknown_words=False)
    assert engine.models[0].model_id == "hey zorblax"


def test_bad_phones_are_reported_with_the_word(tmp_path):
    with pytest.raises(WakeConfigError, match="zorblax"):
        pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="zorblax"), words={"zorblax": "ZZ XX"})


def test_missing_model_files_are_reported_before_pocketsphinx_sees_them(tmp_path):
    with pytest.raises(WakeConfigError, match="dictionary not found"):
        pocketsphinx_engine(tmp_path, WakePhraseSettings(phrase="bumblebee"), dictionary="nope.dict")


# ---- precise ---------------------------------------------------------------------------------------------


def precise_settings(tmp_path: Path, **kwargs) -> WakeSettings:
    model = tmp_path / "hey-fake.pb"
    model.write_bytes(b"not a real network")
    (tmp_path / "hey-fake.pb.params").write_text("{}", encoding="utf-8")
    values = {"engine": sys.executable, "engine_args": [str(FAKE_ENGINE)], "model": model.name} | kwargs
    return WakeSettings(engine="precise", precise=PreciseWakeSettings(**values))


def tone(seconds: float) -> np.ndarray:
    """The fake engine's 'wake word': a loud 440 Hz tone."""
    t = np.arange(int(seconds * 16000)) / 16000
    return (np.sin(2 * np.pi * 440 * t) * 20000).astype(np.int16)


def test_precise_engine_protocol_and_trigger(tmp_path):
    engine = wake_engine(precise_settings(tmp_path), tmp_path)
    assert engine.models[0].wakeword_id == "hey-fake"
    assert engine.models[0].model_id == "hey-fake.pb"
    stream = build_stream(
        [silence(1.0), ("w", tone(0.8)), silence(2.0), ("w", tone(0.8)), silence(1.0)], noise_rms=100
    )
    detector = engine.new_detector()
    try:
        found = feed(detector, stream.pcm, chunk=1000)  # frames that do not line up with engine chunks
    finally:
        detector.close()
    assert len(found) == 2
    for detection, (start, end) in zip(found, stream.marks, strict=True):
        assert start < detection.stream_seconds <= end + 0.2


def test_precise_short_burst_does_not_trigger_and_reset_clears(tmp_path):
    engine = wake_engine(precise_settings(tmp_path), tmp_path)
    detector = engine.new_detector()
    try:
        # trigger_level 3 needs four activated 64 ms chunks in a row
        assert feed(detector, build_stream([silence(0.5), tone(0.2), silence(0.5)], noise_rms=0).pcm) == []
        half = build_stream([silence(0.5), tone(0.2)], noise_rms=0).pcm
        assert feed(detector, half) == []
        detector.reset()
        assert feed(detector, build_stream([tone(0.15), silence(0.5)], noise_rms=0).pcm) == []
    finally:
        detector.close()


def test_precise_configuration_errors_name_the_file(tmp_path):
    with pytest.raises(WakeConfigError, match="precise engine not found"):
        wake_engine(precise_settings(tmp_path, engine=str(tmp_path / "precise-engine")), tmp_path)
    settings = precise_settings(tmp_path)
    (tmp_path / "hey-fake.pb.params").unlink()
    with pytest.raises(WakeConfigError, match=r"hey-fake\.pb\.params"):
        wake_engine(settings, tmp_path)
    with pytest.raises(WakeConfigError, match="wake.precise.engine"):
        wake_engine(WakeSettings(engine="precise"), tmp_path)


def test_precise_engine_that_crashes_is_reported(tmp_path):
    crash = tmp_path / "crash.py"
    crash.write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    with pytest.raises(WakeConfigError, match="does not work"):
        wake_engine(precise_settings(tmp_path, engine_args=[str(crash)]), tmp_path)


def test_precise_engine_dying_mid_stream_raises_engine_error(tmp_path):
    engine = wake_engine(precise_settings(tmp_path), tmp_path)
    detector = engine.new_detector()
    detector._engine.proc.kill()  # the engine process dies while the site streams
    detector._engine.proc.wait()
    with pytest.raises(WakeEngineError, match="stopped answering"):
        feed(detector, bytes(8192))
    detector.close()


def test_user_engine_class_by_module_path(tmp_path):
    with pytest.raises(WakeConfigError, match="no class"):
        wake_engine(WakeSettings(engine="services.wake.engine.NoSuchEngine"), tmp_path)
    with pytest.raises(WakeConfigError, match="cannot import"):
        wake_engine(WakeSettings(engine="nowhere.module.Engine"), tmp_path)

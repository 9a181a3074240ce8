"""Feedback sounds: the shipped beeps, the profile's own files, switching events off, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from hermes.wav import pcm_to_wav, read_wav
from services.dialogue.feedback_sounds import BUILTIN_DIR, SoundError, load_sounds
from services.dialogue.settings import DialogueSettings


def test_builtin_sounds_are_short_16k_mono_wavs(tmp_path):
    sounds = load_sounds(DialogueSettings(), tmp_path)
    assert set(sounds) == {"wake", "recorded", "error"}
    for event, sound in sounds.items():
        info, frames = read_wav(sound.wav)
        assert (info.rate, info.width, info.channels) == (16000, 2, 1)
        assert 0.1 < sound.seconds < 0.5, event
        assert np.abs(np.frombuffer(frames, "<i2")).max() > 1000  # audible
    assert (BUILTIN_DIR / "wake.wav").read_bytes() == sounds["wake"].wav


def test_profile_sounds_relative_paths_volume_and_switching_off(tmp_path):
    (tmp_path / "sounds").mkdir()
    pcm = (np.full(8000, 20000, dtype="<i2")).tobytes()
    (tmp_path / "sounds" / "ding.wav").write_bytes(pcm_to_wav(pcm, rate=8000))
    settings = DialogueSettings(sounds={"wake": "sounds/ding.wav", "error": ""}, volume=0.5)
    sounds = load_sounds(settings, tmp_path)
    assert set(sounds) == {"wake", "recorded"}
    assert sounds["wake"].seconds == 1.0
    _, frames = read_wav(sounds["wake"].wav)
    assert np.frombuffer(frames, "<i2").max() == 10000


def test_bad_sound_settings_name_the_event_and_file(tmp_path):
    with pytest.raises(SoundError, match=r"dialogue.sounds.wake: cannot read .*missing.wav"):
        load_sounds(DialogueSettings(sounds={"wake": "missing.wav"}), tmp_path)
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(SoundError, match=r"dialogue.sounds.error: .*text.wav is not a PCM WAV"):
        load_sounds(DialogueSettings(sounds={"error": "text.wav"}), tmp_path)
    with pytest.raises(SoundError, match="unknown event"):
        load_sounds(DialogueSettings(sounds={"beep": "x.wav"}), tmp_path)

"""Round trip: Piper speaks 20 commands of the default profile and our own ASR (pocketsphinx, the profile's
closed grammar) and NLU understand them. The commands and their meanings are ``SHORT_COMMANDS`` of
bench/speech_data.py, the same ones the speech benchmark speaks with espeak-ng."""

from __future__ import annotations

import numpy as np
import pytest

from hermes.wav import to_pcm16k_mono
from services.nlu.training import train_profile
from services.tts.piper_engine import PiperTtsEngine
from services.tts.settings import PiperTtsSettings, TtsSettings
from tests.engines import tts_engine
from tests.speech.voices import engine_for, understander

from .piper_voices import EXACT

sd = pytest.importorskip("speech_data")  # bench/speech_data.py, on the path through tests/speech/voices.py
FRAME_SAMPLES = 1024
ROOM_RMS = 60.0  # the quiet of a room around each command, as sd.short_utterances has it


def as_heard(wav: bytes, rng: np.random.Generator) -> bytes:
    """16 kHz PCM of what a microphone hears: 0.3 s of room quiet, the command, 0.3 s of quiet."""
    speech = np.frombuffer(to_pcm16k_mono(wav), dtype="<i2").astype(np.float64)
    quiet = int(0.3 * 16000)
    padded = np.concatenate([rng.normal(0, ROOM_RMS, quiet), speech + rng.normal(0, ROOM_RMS, len(speech)),
                             rng.normal(0, ROOM_RMS, quiet)])
    return np.clip(np.round(padded), -32768, 32767).astype("<i2").tobytes()


@pytest.mark.parametrize("options", [EXACT, {}], ids=["without-noise", "piper-defaults"])
def test_piper_speaks_twenty_commands_and_our_asr_understands_nineteen(mqtt_broker, profile_dir, options):
    train_profile(profile_dir)
    asr = engine_for(mqtt_broker, profile_dir)
    understand = understander(profile_dir)
    piper: PiperTtsEngine = tts_engine(TtsSettings(engine="piper", piper=PiperTtsSettings(**options)), profile_dir)
    rng = np.random.default_rng(22)
    wrong = []
    assert len(sd.SHORT_COMMANDS) == 20
    for text, intent, slots in sd.SHORT_COMMANDS:
        pcm = as_heard(piper.synthesize(text), rng)
        stream = asr.open_stream()
        for start in range(0, len(pcm), FRAME_SAMPLES * 2):
            stream.feed(pcm[start:start + FRAME_SAMPLES * 2])
        heard = stream.finish().text
        got_intent, got_slots = understand(heard)
        if not sd.accepted(sd.Utterance(text, b"", intent, slots), got_intent, got_slots):
            wrong.append(f"{text!r} heard as {heard!r} ({got_intent}, {got_slots})")
    print(f"piper round trip ({options or 'defaults'}): {20 - len(wrong)}/20 understood; wrong: {wrong}")
    assert len(wrong) <= 1, wrong

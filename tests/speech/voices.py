"""The real recordings of ../shared/speech for the no-loss tests: a fixed sample, the reference decode, the ruling.

The reference is the best whole-file decode with the same trained model: the ASR engine exactly as the service
builds it from the profile, given each file whole, resampled whole to 16 kHz (as the bridge converts a posted
WAV file). For a real-time MQTT session the recording is what the microphone heard: the file, then the room's
quiet until the endpointer ends the utterance; its reference is the whole-file decode of exactly that audio. A mesh entry
passes on a file when it returns the same text, or when its text is understood right where the reference's is
not (the issue's rule: no loss in the pipeline, gains allowed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import numpy as np  # noqa: E402
import speech_data as sd  # noqa: E402

from hermes.wav import to_pcm16k_mono  # noqa: E402
from services.asr.service import AsrService, AsrSettings  # noqa: E402
from services.nlu.training import load_trained_profile  # noqa: E402
from tests.conftest import MosquittoBroker, make_common  # noqa: E402

SAMPLE = {"coffee": 40, "digits": 60}  # the "for instance 40 coffee and 60 digits"
FRAME_SAMPLES = 1024  # what a microphone publishes per audioFrame


def utterances(set_name: str) -> list[sd.Utterance]:
    """Every k-th recording of the sorted set (spread over all speakers; the same files every run)."""
    every = sd.coffee_utterances() if set_name == "coffee" else sd.digit_utterances()
    return sd.sample(every, SAMPLE[set_name])


def make_profile(set_name: str, directory: Path) -> Path:
    return (sd.coffee_profile if set_name == "coffee" else sd.digits_profile)(directory)


def engine_for(broker: MosquittoBroker, profile: Path, options: dict[str, Any] | None = None) -> Any:
    """The ASR engine the service builds from this trained profile (and these ``asr.engine_options``); the
    broker is only named in the settings, nothing is sent."""
    service = AsrService(make_common(broker, profile), AsrSettings(engine_options=options or {}))
    service.engine = service._create_engine()  # noqa: SLF001 - the service's own construction, no broker needed
    service._train_from_profile()  # noqa: SLF001
    return service.engine


def reference_texts(broker: MosquittoBroker, profile: Path, chosen: list[sd.Utterance],
                    heard: Callable[[sd.Utterance], bytes] | None = None) -> dict[str, str]:
    """Whole-file decodes by the engine the ASR service builds from this (trained) profile and its settings;
    ``heard(u)``: the samples (at the file's rate) a microphone heard instead of the bare file."""
    engine = engine_for(broker, profile)
    texts = {}
    for u in chosen:
        stream = engine.open_stream()
        pcm, rate = sd.read_pcm(u.wav)
        audio = heard(u) if heard else pcm.tobytes()
        stream.feed(to_pcm16k_mono(sd.write_wav(np.frombuffer(audio, np.int16), rate)))
        texts[u.name] = stream.finish().text
    return texts


def understander(profile: Path) -> Callable[[str], tuple[str | None, dict[str, Any]]]:
    """Text -> (intent, slots) with the profile's trained intent graph (the NLU's own recogniser)."""
    trained = load_trained_profile(profile)
    assert trained is not None, f"{profile} is not trained"

    return lambda text: sd.meaning_of(trained, text)


@dataclass
class Ruling:
    equal: int
    better: list[str]
    lost: list[str]
    accepted: int


def rule(profile: Path, chosen: list[sd.Utterance], reference: dict[str, str], got: dict[str, str]) -> Ruling:
    understand = understander(profile)
    equal, better, lost, accepted = 0, [], [], 0
    for u in chosen:
        mine, best = got.get(u.name, ""), reference[u.name]
        right = sd.accepted(u, *understand(mine))
        accepted += right
        if mine == best:
            equal += 1
        elif right and not sd.accepted(u, *understand(best)):
            better.append(f"{u.name}: {mine!r} (reference {best!r})")
        else:
            lost.append(f"{u.name}: {mine!r}, the whole-file decode: {best!r}")
    return Ruling(equal, better, lost, accepted)

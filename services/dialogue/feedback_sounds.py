"""Feedback sounds: the built-in beeps (generated sine tones shipped as WAV files) and loading the user's own.

``python -m services.dialogue.feedback_sounds`` regenerates the built-in files in ``services/dialogue/sounds/``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from hermes.wav import WavFormatError, pcm_to_wav, read_wav

from .engine import Sound
from .settings import SOUND_EVENTS, DialogueSettings

BUILTIN_DIR = Path(__file__).resolve().parent / "sounds"
RATE = 16000

# event -> (frequency Hz, seconds) per tone: rising for wake, falling for recorded, low double for error.
TONES: dict[str, list[tuple[float, float]]] = {
    "wake": [(660.0, 0.07), (880.0, 0.09)],
    "recorded": [(880.0, 0.07), (660.0, 0.09)],
    "error": [(330.0, 0.12), (0.0, 0.05), (330.0, 0.12)],
}


class SoundError(ValueError):
    """A feedback sound file that cannot be used; the message names the event and the file."""


def tone_pcm(tones: list[tuple[float, float]], amplitude: float = 0.3) -> bytes:
    parts = []
    for frequency, seconds in tones:
        t = np.arange(int(RATE * seconds)) / RATE
        wave = np.sin(2 * np.pi * frequency * t) if frequency else np.zeros_like(t)
        fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)  # 5 ms fades: no clicks
        parts.append(wave * fade)
    samples = np.concatenate(parts) * amplitude * 32767
    return samples.astype("<i2").tobytes()


def write_builtin_sounds(directory: Path = BUILTIN_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for event, tones in TONES.items():
        target = directory / f"{event}.wav"
        fd, temp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(pcm_to_wav(tone_pcm(tones)))
        os.chmod(temp, 0o644)
        os.replace(temp, target)


def scaled(wav: bytes, volume: float) -> bytes:
    """The WAV with its 16-bit samples scaled (other widths are returned unchanged)."""
    info, frames = read_wav(wav)
    if volume >= 1.0 or info.width != 2:
        return wav
    samples = (np.frombuffer(frames, dtype="<i2").astype(np.float32) * volume).astype("<i2")
    return pcm_to_wav(samples.tobytes(), info.rate, info.width, info.channels)


def load_sounds(settings: DialogueSettings, profile: Path) -> dict[str, Sound]:
    """One Sound per event: the profile's file if set (relative paths from the profile), "" = none, else built-in."""
    unknown = set(settings.sounds) - set(SOUND_EVENTS)
    if unknown:
        raise SoundError(f"dialogue.sounds: unknown event(s) {sorted(unknown)}; use {list(SOUND_EVENTS)}")
    sounds: dict[str, Sound] = {}
    for event in SOUND_EVENTS:
        configured = settings.sounds.get(event)
        if configured == "":
            continue
        path = BUILTIN_DIR / f"{event}.wav" if configured is None else Path(configured).expanduser()
        if not path.is_absolute():
            path = profile / path
        try:
            wav = path.read_bytes()
            info, _ = read_wav(wav)
        except OSError as err:
            raise SoundError(f"dialogue.sounds.{event}: cannot read {path} ({err.strerror})") from err
        except WavFormatError as err:
            raise SoundError(f"dialogue.sounds.{event}: {path} is not a PCM WAV file ({err})") from err
        sounds[event] = Sound(scaled(wav, settings.volume), info.seconds)
    return sounds


if __name__ == "__main__":
    write_builtin_sounds()
    print("wrote", ", ".join(sorted(p.name for p in BUILTIN_DIR.glob("*.wav"))))

"""Real-voice data sets of ../shared/speech as Hermesh profiles and labelled utterances.

* **coffee**: 300 crowd-sourced coffee-maker commands (16 kHz). ``coffee_templates`` converts the benchmark's
  Picovoice Rhino context (``coffee_maker.yaml``) into our sentence templates: ``[a, b]`` (one of) becomes
  ``(a | b)``, ``(x)`` (optional) becomes ``[x]``, ``$type:name`` becomes ``($type){name}`` with the values of
  each type in ``slots/<type>``.
* **digits**: 400 spoken digits (8 kHz, trimmed), one ``Digit`` intent with a ``digit`` slot.
* Noise is mixed as the benchmark does it: the SNR is computed from the maximum frame energy (frames of
  2,048 samples) of speech and of noise, and the mix is rescaled to half of full scale.

Used by ``bench/speech_bench.py`` (every recording) and by ``tests/speech`` (a fixed sample).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT.parent / "shared" / "speech"
COFFEE = SPEECH / "coffee"
DIGITS = SPEECH / "digits"
NOISE_FRAME = 2048
SNRS_DB = (24, 18, 12, 6)
NOISE_SEED = 20261203
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class Utterance:
    """One labelled recording: its WAV bytes and what it means."""

    name: str
    wav: bytes
    intent: str
    slots: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> int:
        from hermes.wav import wav_info

        return wav_info(self.wav).rate


# ---- templates --------------------------------------------------------------------------------------------
_SLOT = re.compile(r"\$([A-Za-z_][\w]*):([A-Za-z_][\w]*)")


def rhino_expression_to_template(expression: str) -> str:
    """One Rhino expression as a sentence-template line (see the module doc for the mapping)."""
    out, i = [], 0
    while i < len(expression):
        c = expression[i]
        if c == "[":
            end = expression.index("]", i)
            choices = [part.strip() for part in expression[i + 1 : end].split(",")]
            out.append("(" + " | ".join(c.lower() for c in choices) + ")")
            i = end + 1
        elif c == "(":
            end = expression.index(")", i)
            out.append("[" + rhino_expression_to_template(expression[i + 1 : end]) + "]")
            i = end + 1
        elif c == "$":
            match = _SLOT.match(expression, i)
            if match is None:
                raise ValueError(f"bad slot reference at column {i + 1} of {expression!r}")
            out.append(f"(${match.group(1)}){{{match.group(2)}}}")
            i = match.end()
        else:
            out.append(c.lower())
            i += 1
    return re.sub(r"\s+", " ", "".join(out)).strip()


def coffee_templates(context_file: Path = COFFEE / "coffee_maker.yaml") -> tuple[str, dict[str, list[str]]]:
    """(sentences.ini text, {slot list name: values}) for the coffee context."""
    import yaml

    context = yaml.safe_load(context_file.read_text(encoding="utf-8"))["context"]
    lines = []
    for intent, expressions in context["expressions"].items():
        lines.append(f"[{intent}]")
        lines.extend(rhino_expression_to_template(e) for e in expressions)
        lines.append("")
    slots = {name: [v.strip().lower() for v in values] for name, values in context["slots"].items()}
    return "\n".join(lines), slots


def digits_templates() -> tuple[str, dict[str, list[str]]]:
    return "[Digit]\n($digit){digit}\n", {"digit": list(DIGIT_WORDS)}


def write_profile(directory: Path, sentences: str, slots: dict[str, list[str]],
                  settings: dict[str, Any] | None = None) -> Path:
    """A profile directory with these templates and slot lists (and profile.json settings)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sentences.ini").write_text(sentences, encoding="utf-8")
    (directory / "slots").mkdir(exist_ok=True)
    for name, values in slots.items():
        (directory / "slots" / name).write_text("\n".join(values) + "\n", encoding="utf-8")
    (directory / "profile.json").write_text(json.dumps({"language": "en", "site_ids": [], **(settings or {})},
                                                       indent=1), encoding="utf-8")
    return directory


def coffee_profile(directory: Path, settings: dict[str, Any] | None = None) -> Path:
    return write_profile(directory, *coffee_templates(), settings=settings)


def digits_profile(directory: Path, settings: dict[str, Any] | None = None) -> Path:
    return write_profile(directory, *digits_templates(), settings=settings)


# The Rhasspy default profile's kind of command (ours ships the same intents), short and spoken by espeak-ng: no
# real recordings of them are at hand, so these give the speed of short commands, not their accuracy on people.
SHORT_COMMANDS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("what time is it", "GetTime", {}),
    ("tell me the time", "GetTime", {}),
    ("whats the temperature", "GetTemperature", {}),
    ("how hot is it", "GetTemperature", {}),
    ("how cold is it", "GetTemperature", {}),
    ("is the garage door open", "GetGarageState", {}),
    ("is the garage door closed", "GetGarageState", {}),
    ("turn on the living room lamp", "ChangeLightState", {"state": "on", "name": "living room lamp"}),
    ("turn off the garage light", "ChangeLightState", {"state": "off", "name": "garage light"}),
    ("turn the garage light on", "ChangeLightState", {"state": "on", "name": "garage light"}),
    ("turn living room lamp off", "ChangeLightState", {"state": "off", "name": "living room lamp"}),
    ("turn on the bedroom light", "ChangeLightState", {"state": "on", "name": "bedroom light"}),
    ("turn bedroom light off", "ChangeLightState", {"state": "off", "name": "bedroom light"}),
    ("set the bedroom light to blue", "ChangeLightColor", {"name": "bedroom light", "color": "blue"}),
    ("set bedroom light red", "ChangeLightColor", {"name": "bedroom light", "color": "red"}),
    ("make the bedroom light green", "ChangeLightColor", {"name": "bedroom light", "color": "green"}),
    ("make bedroom light purple", "ChangeLightColor", {"name": "bedroom light", "color": "purple"}),
    ("set the bedroom light to yellow", "ChangeLightColor", {"name": "bedroom light", "color": "yellow"}),
    ("make the bedroom light orange", "ChangeLightColor", {"name": "bedroom light", "color": "orange"}),
    ("set bedroom light to pink", "ChangeLightColor", {"name": "bedroom light", "color": "pink"}),
)
SHORT_VOICES = ("en-us+m6", "en-us+f3")


def short_profile(directory: Path) -> Path:
    """The profile Hermesh ships (Rhasspy's default intents), as its first run writes it."""
    from services.profile import ensure_profile

    ensure_profile(directory)
    return directory


def short_utterances() -> list[Utterance]:
    """Each short command in two espeak-ng voices (22,050 Hz as espeak-ng writes it), with 0.3 s of room quiet
    (rms 60, seeded) before and after, as a microphone would have them."""
    import subprocess

    out = []
    rng = np.random.default_rng(18)
    for voice in SHORT_VOICES:
        for text, intent, slots in SHORT_COMMANDS:
            spoken = subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "--stdout"], input=text.encode(),
                                    capture_output=True, check=True).stdout
            pcm, rate = read_pcm(spoken)
            quiet = int(0.3 * rate)
            padded = np.concatenate([rng.normal(0, 60, quiet), pcm, rng.normal(0, 60, quiet)])
            out.append(Utterance(f"{voice}-{text.replace(' ', '_')}.wav", write_wav(np.clip(padded, -32768, 32767),
                                                                                    rate), intent, slots))
    return out


# ---- recordings -------------------------------------------------------------------------------------------
def coffee_utterances(names: Iterable[str] | None = None) -> list[Utterance]:
    labels = json.loads((COFFEE / "labels.json").read_text(encoding="utf-8"))
    chosen = sorted(labels) if names is None else list(names)
    return [Utterance(n, (COFFEE / "clean" / n).read_bytes(), labels[n]["intent"],
                      {k: v.strip().lower() for k, v in labels[n].get("slots", {}).items()}) for n in chosen]


def digit_utterances(names: Iterable[str] | None = None) -> list[Utterance]:
    chosen = sorted(p.name for p in DIGITS.glob("*.wav")) if names is None else list(names)
    return [Utterance(n, (DIGITS / n).read_bytes(), "Digit", {"digit": DIGIT_WORDS[int(n.split("_")[0])]})
            for n in chosen]


def half_of(name: str) -> str:
    """``dev`` or ``held``: which half of the recordings a file belongs to, fixed by its name alone.

    Settings are tuned on the dev half and checked on the held-out half (issue 18), as the benchmark these
    recordings come from keeps half of its files aside. A hash of the file name splits every set the same way
    whatever its order or size; noisy copies keep their clean file's name, so they fall in the same half."""
    return "dev" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "held"


def sample(utterances: list[Utterance], count: int) -> list[Utterance]:
    """Every k-th recording of the sorted list: a fixed, spread-out sample (no tuning to chosen files)."""
    step = max(1, len(utterances) // count)
    return utterances[::step][:count]


# ---- audio ------------------------------------------------------------------------------------------------
def read_pcm(wav_bytes: bytes) -> tuple[np.ndarray, int]:
    """16-bit mono samples and rate of a recording (PCM, or μ-law decoded), read by the mesh's own reader."""
    from hermes.wav import read_wav

    info, frames = read_wav(wav_bytes)
    if info.width != 2 or info.channels != 1:
        raise ValueError("expected 16-bit mono")
    return np.frombuffer(frames, dtype=np.int16), info.rate


def write_wav(samples: np.ndarray, rate: int) -> bytes:
    from hermes.wav import pcm_to_wav

    return pcm_to_wav(samples.astype(np.int16).tobytes(), rate)


def _max_frame_energy(x: np.ndarray) -> float:
    frames = len(x) // NOISE_FRAME
    if frames == 0:
        return float(np.sum(x**2))
    return float(np.max(np.sum(x[: frames * NOISE_FRAME].reshape(frames, NOISE_FRAME) ** 2, axis=1)))


def mix_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Speech plus a random stretch of noise at ``snr_db`` (max frame energies), rescaled to half full scale."""
    s = speech.astype(np.float64)
    if len(noise) < len(s):
        noise = np.tile(noise, len(s) // len(noise) + 1)
    start = int(rng.integers(0, len(noise) - len(s) + 1))
    n = noise[start : start + len(s)].astype(np.float64)
    gain = np.sqrt(_max_frame_energy(s) / max(_max_frame_energy(n), 1e-9) / (10 ** (snr_db / 10)))
    mix = s + gain * n
    peak = float(np.max(np.abs(mix))) or 1.0
    return np.asarray(mix / peak * 0.5 * 32767).astype(np.int16)


def noisy_coffee(utterances: list[Utterance], snr_db: float, seed: int = NOISE_SEED) -> list[Utterance]:
    """The coffee recordings with kitchen noise at ``snr_db`` (one seeded generator per SNR: reproducible)."""
    noise, _ = read_pcm((COFFEE / "noise" / "kitchen.wav").read_bytes())
    rng = np.random.default_rng(seed + int(snr_db))
    out = []
    for u in utterances:
        pcm, rate = read_pcm(u.wav)
        out.append(Utterance(u.name, write_wav(mix_noise(pcm, noise, snr_db, rng), rate), u.intent, u.slots))
    return out


def mulaw_round_trip(utterances: list[Utterance]) -> list[Utterance]:
    """Each recording as a G.711 μ-law WAV file (format tag 7, same rate), as telephony tools write it: the mesh
    reads it as it is."""
    from hermes.wav import g711_wav

    out = []
    for u in utterances:
        pcm, rate = read_pcm(u.wav)
        out.append(Utterance(u.name, g711_wav(pcm.tobytes(), "mulaw", rate), u.intent, u.slots))
    return out


# ---- scoring ----------------------------------------------------------------------------------------------
def accepted(utterance: Utterance, intent: str | None, slots: dict[str, Any]) -> bool:
    """The benchmark's command acceptance: the intent and every slot right (values stripped, lower-cased)."""
    if intent != utterance.intent:
        return False
    got = {k: str(v).strip().lower() for k, v in slots.items()}
    return got == utterance.slots


def meaning_of(trained: Any, text: str) -> tuple[str | None, dict[str, Any]]:
    """Intent and {slot: raw value} of a text with a trained profile's recogniser, as the NLU service gives them
    (its settings: fuzzy by default)."""
    if not text.strip():
        return None, {}
    found = trained.recognize(text)
    if not found:
        return None, {}
    return rhasspy_slots(found[0].to_rhasspy_dict(text))


def rhasspy_slots(intent_json: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(intent name, {slot: raw spoken value}) of a Rhasspy intent JSON answer."""
    name = (intent_json.get("intent") or {}).get("name") or None
    slots = {e["entity"]: e.get("raw_value", e.get("value")) for e in intent_json.get("entities", [])}
    return name, slots

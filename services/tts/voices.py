"""Which voice a say may name: one of the engine's installed voices, by name, never a path.

A say comes from the network (the bridge passes a user's ``?voice=``), so its voice is checked against the
engine's own list before the engine sees it: Piper would otherwise read any ``.onnx`` path it is given, and
espeak-ng would take any string as ``-v``.
"""

from __future__ import annotations

from collections.abc import Iterable

from hermes.tts import Voice

from .engine import TtsVoice

MAX_VOICE_NAME = 100  # also what the bridge accepts (bridge/voice_choice.py)
LISTED = 20  # an error names at most this many voices (espeak-ng has over a hundred)


def voice_problem(name: str, voices: list[TtsVoice], engine: str) -> str | None:
    """Why ``name`` cannot be a say's voice, naming the voices there are; None when it is installed.
    espeak-ng's variants are accepted on an installed voice ("en-us+f3")."""
    known = {v.voice_id for v in voices}
    base = name.split("+", 1)[0] if engine == "espeak" else name
    if len(name) <= MAX_VOICE_NAME and base in known and "/" not in name and "\\" not in name:
        return None
    return f"tts engine {engine!r} has no voice {name[:MAX_VOICE_NAME]!r}; installed voices: {listed(known)}"


def speaker_problem(speaker: str) -> str | None:
    """Why a say's speaker cannot be one at all (whether the voice has it is the engine's to say)."""
    if 0 < len(speaker) <= MAX_VOICE_NAME and speaker.isprintable():
        return None
    return f"a speaker must be 1 to {MAX_VOICE_NAME} printable characters, not {speaker[:MAX_VOICE_NAME]!r}"


def listed(names: Iterable[str]) -> str:
    """The names for an error message, sorted, at most LISTED of them."""
    ordered = sorted(names)
    text = ", ".join(ordered[:LISTED]) + (f", ... ({len(ordered)} in all)" if len(ordered) > LISTED else "")
    return text or "none"


def voice_to_wire(voice: TtsVoice) -> Voice:
    return Voice(voice_id=voice.voice_id, description=voice.description,
                 languages=list(voice.languages) or None, speakers=list(voice.speakers) or None)

"""Which voice or language a request names, checked against the TTS's own voice list (one source: the
``rhasspy/tts/voices`` reply, ``MeshClient.voices``).

Rhasspy 2.5 took ``?voice=`` as the say's language (its espeak-ng voices are language codes); with Piper a
voice is a name such as ``en_US-joe-medium``. So a name of the list is the voice, a language that a voice of the
list speaks is the language, and anything else is the client's mistake, answered with the names there are.
"""

from __future__ import annotations

from dataclasses import dataclass

from hermes.tts import Voice
from services.tts.voices import MAX_VOICE_NAME, listed


class VoiceChoiceError(ValueError):
    pass


@dataclass(frozen=True)
class VoiceChoice:
    voice: str | None = None  # a voice of the list, by its exact name
    lang: str | None = None  # a language one of the voices speaks
    # One of a multi-speaker voice's speakers: only its form is checked here; the TTS, which knows which voice
    # speaks, refuses one that voice lacks (naming its speakers), and a one-speaker voice ignores it.
    speaker: str | None = None


def _key(code: str) -> str:
    return code.replace("_", "-").lower()


def check_voice_name(name: str, what: str = "voice") -> str:
    """A voice (or speaker) name as a client sends it: short, printable, never a path."""
    if not name or len(name) > MAX_VOICE_NAME:
        raise VoiceChoiceError(f"{what} must be 1 to {MAX_VOICE_NAME} characters (a name of GET /api/tts-voices)")
    if "/" in name or "\\" in name or name.startswith(".") or not name.isprintable():
        raise VoiceChoiceError(f"{what} {name[:40]!r} is not a voice name (GET /api/tts-voices lists them); "
                               "paths are not accepted")
    return name


def describe(voices: list[Voice]) -> str:
    return listed(v.voice_id for v in voices)


def languages_spoken(voices: list[Voice]) -> list[str]:
    """The languages of the voices as the TTS gives them; a voice that gives none is named by its language
    (espeak-ng's voices are)."""
    return sorted({code for voice in voices for code in (voice.languages or [voice.voice_id])})


def choose(voices: list[Voice], voice: str | None, language: str | None) -> VoiceChoice:
    """The say's voice and language for ``?voice=`` and ``?language=``; VoiceChoiceError names the voices."""
    chosen: str | None = None
    lang = check_voice_name(language, "language") if language else None
    if not voices:  # an engine that lists no voices: Rhasspy's reading, the TTS itself decides
        return VoiceChoice(None, lang or (check_voice_name(voice) if voice else None))
    if voice:
        check_voice_name(voice)
        exact = [v.voice_id for v in voices if v.voice_id == voice]
        folded = [v.voice_id for v in voices if _key(v.voice_id) == _key(voice)]
        if exact or folded:
            chosen = (exact or folded)[0]
        elif lang is None and _speaks(voices, voice):
            lang = voice  # Rhasspy's ?voice=<language>
        else:
            raise VoiceChoiceError(f"the TTS has no voice {voice[:40]!r}; installed voices "
                                   f"(GET /api/tts-voices): {describe(voices)}")
    if lang is not None and not _speaks(voices, lang):
        raise VoiceChoiceError(f"no voice of the TTS speaks {lang[:40]!r}; installed voices "
                               f"(GET /api/tts-voices): {describe(voices)}")
    return VoiceChoice(chosen, lang)


def _speaks(voices: list[Voice], language: str) -> bool:
    """A voice speaks ``language`` ("en-GB", "en") when its language, or its name as espeak-ng's language-code
    names are, is that language or a region of it; a region asked of a base-language voice counts too."""
    wanted = _key(language)
    base = wanted.split("-")[0]
    for v in voices:
        for code in [*(v.languages or []), v.voice_id]:
            have = _key(code)
            if have == wanted or have.startswith(wanted + "-") or have == base:
                return True
    return False

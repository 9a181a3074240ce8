"""espeak-ng through its command line: voice, rate, pitch, volume and SSML; WAV out."""

from __future__ import annotations

import shutil
import subprocess

from hermes.wav import WavFormatError, pcm_to_wav, read_wav
from services.engines import EngineConfig, engine_settings

from .engine import TtsConfigError, TtsEngineError, TtsVoice
from .settings import EspeakTtsSettings


class EspeakTtsEngine:
    """Options: those of ``tts.espeak`` (``EspeakTtsSettings``)."""

    def __init__(self, config: EngineConfig) -> None:
        settings = engine_settings(EspeakTtsSettings, config, "tts engine espeak", TtsConfigError)
        executable = shutil.which(settings.executable)
        if executable is None:
            raise TtsConfigError(f"espeak-ng not found ({settings.executable!r}); install it: apt-get install espeak-ng")
        self._exe = executable
        self._settings = settings

    def _voice_for(self, voice: str | None, lang: str | None) -> str:
        if voice:
            return voice
        configured = self._settings.voice
        if lang and lang in self._settings.voices_by_lang:
            return self._settings.voices_by_lang[lang]
        if lang and not configured.lower().startswith(lang.lower()):
            return lang  # espeak-ng voices are named by language code ("de", "fr-fr", "en-gb")
        return configured  # no language asked, or the configured voice already speaks it ("en" -> "en-us+f3")

    def synthesize(self, text: str, voice: str | None = None, lang: str | None = None) -> bytes:
        s = self._settings
        chosen = self._voice_for(voice, lang)
        command = [self._exe, "-v", chosen, "-s", str(s.rate), "-p", str(s.pitch), "-a", str(s.volume), "--stdout"]
        if s.ssml or text.lstrip().startswith("<speak"):
            command.append("-m")
        try:
            # Text on stdin: no argv quoting, and text like "-foo" is never read as an option.
            proc = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=s.timeout)
        except subprocess.TimeoutExpired as err:
            raise TtsEngineError(f"espeak-ng took longer than {s.timeout:g} s for {len(text)} characters") from err
        if proc.returncode != 0 or not proc.stdout:
            message = proc.stderr.decode("utf-8", errors="replace").strip() or f"exit code {proc.returncode}"
            raise TtsEngineError(f"espeak-ng failed with voice {chosen!r}: {message}")
        return _fix_header(proc.stdout)

    def voices(self) -> list[TtsVoice]:
        proc = subprocess.run([self._exe, "--voices"], capture_output=True, timeout=self._settings.timeout)
        if proc.returncode != 0:
            raise TtsEngineError(f"espeak-ng --voices failed: {proc.stderr.decode(errors='replace').strip()}")
        return parse_voice_list(proc.stdout.decode("utf-8", errors="replace"))


def _fix_header(wav: bytes) -> bytes:
    """espeak-ng writes placeholder sizes into its WAV header when writing to a pipe; write real ones."""
    try:
        info, frames = read_wav(wav)
    except WavFormatError as err:
        raise TtsEngineError(f"espeak-ng produced no usable WAV: {err}") from err
    frames = frames[: len(frames) - len(frames) % (info.width * info.channels)]
    return pcm_to_wav(frames, info.rate, info.width, info.channels)


def parse_voice_list(text: str) -> list[TtsVoice]:
    """Voices from ``espeak-ng --voices``: one per language; MBROLA voices are left out (their data is
    not installed, so they fail)."""
    voices: dict[str, TtsVoice] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        language, age_gender, name, file = fields[1], fields[2], fields[3], fields[4]
        if file.startswith("mb/") or language in voices:
            continue
        gender = {"M": "male", "F": "female"}.get(age_gender.rpartition("/")[2], "")
        description = name.replace("_", " ") + (f", {gender}" if gender else "")
        voices[language] = TtsVoice(language, description)
    return list(voices.values())

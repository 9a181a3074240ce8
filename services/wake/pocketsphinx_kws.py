"""Pocketsphinx keyphrase spotting: several wake phrases, each with its own threshold, checked at start-up.

Pocketsphinx itself only logs a keyphrase with an unknown word and then never fires, so every word is
looked up here first and an unknown one is either given a guessed pronunciation (espeak-ng, via
services.phonetics) or reported by name.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pocketsphinx import Decoder

from services.engines import EngineConfig, engine_settings
from services.phonetics import PronunciationError, guess_pronunciations, problems_for, read_custom_words

from .engine import SAMPLE_WIDTH, WakeConfigError, WakeDetection, WakeModel, default_wakeword_id
from .settings import PocketsphinxWakeSettings

_LOG = logging.getLogger(__name__)
_SEARCH = "wake"
# Bytes handed to pocketsphinx between detection checks: 1024 samples (64 ms), like a microphone chunk.
_PIECE = 2048


def _normalize_phrase(text: str) -> str:
    return " ".join(text.lower().split())


class PocketsphinxWakeEngine:
    """Validated keyphrase configuration; ``new_detector()`` gives each site its own decoder."""

    def __init__(self, config: EngineConfig) -> None:
        """Options: those of ``wake.pocketsphinx`` (``PocketsphinxWakeSettings``)."""
        settings = engine_settings(PocketsphinxWakeSettings, config, "wake engine pocketsphinx", WakeConfigError)
        profile_dir = config.profile_dir
        if not settings.phrases:
            raise WakeConfigError("wake: no wake phrase configured (wake.pocketsphinx.phrases is empty)")
        self._decoder_args = self._model_args(settings, profile_dir)
        probe = self._new_decoder()
        self._extra_words = self._pronunciations(settings, profile_dir, probe)
        self.models: list[WakeModel] = []
        self._model_by_phrase: dict[str, WakeModel] = {}
        kws_lines = []
        for entry in settings.phrases:
            phrase = _normalize_phrase(entry.phrase)
            if not phrase:
                raise WakeConfigError("wake: a wake phrase is empty")
            if phrase in self._model_by_phrase:
                raise WakeConfigError(f"wake: phrase {phrase!r} is configured twice")
            model = WakeModel(
                wakeword_id=entry.wakeword_id or default_wakeword_id(phrase),
                model_id=phrase,
                words=phrase,
            )
            if any(m.wakeword_id == model.wakeword_id for m in self.models):
                raise WakeConfigError(f"wake: wakeword id {model.wakeword_id!r} is used by two phrases")
            self.models.append(model)
            self._model_by_phrase[phrase] = model
            kws_lines.append(f"{phrase} /{entry.threshold:g}/")
        self._check_words(probe)
        self._tmpdir = tempfile.mkdtemp(prefix="hermesh-wake-")
        # pocketsphinx reads per-phrase thresholds only from a keyphrase file.
        self._kws_path = str(Path(self._tmpdir) / "wake.kws")
        Path(self._kws_path).write_text("\n".join(kws_lines) + "\n", encoding="utf-8")
        # Detectors load a dictionary of just the wake words: a full cmudict costs every site ~22 MB and
        # 70 ms to load, the small one ~0.
        wake_dict = Path(self._tmpdir) / "wake.dict"
        wake_dict.write_text(self._dictionary_text(probe), encoding="utf-8")
        self._detector_args = {**self._decoder_args, "dict": str(wake_dict)}

    # ---- start-up checks -------------------------------------------------------------------------------
    @staticmethod
    def _model_args(settings: PocketsphinxWakeSettings, profile_dir: Path) -> dict[str, Any]:
        args: dict[str, Any] = {"lm": None, "loglevel": "FATAL"}
        # Missing files make pocketsphinx crash the process, so check them first.
        if settings.acoustic_model:
            hmm = profile_dir / settings.acoustic_model
            if not hmm.is_dir():
                raise WakeConfigError(f"wake: acoustic model directory not found: {hmm}")
            args["hmm"] = str(hmm)
        if settings.dictionary:
            dic = profile_dir / settings.dictionary
            if not dic.is_file():
                raise WakeConfigError(f"wake: pronunciation dictionary not found: {dic}")
            args["dict"] = str(dic)
        return args

    def _new_decoder(self) -> Decoder:
        return Decoder(**self._decoder_args)

    def _pronunciations(
        self, settings: PocketsphinxWakeSettings, profile_dir: Path, probe: Decoder
    ) -> dict[str, str]:
        """Phones for every phrase word the dictionary lacks: settings, custom_words.txt, then guesses."""
        needed = {w for p in settings.phrases for w in _normalize_phrase(p.phrase).split()}
        extra: dict[str, str] = {}
        given = {w.lower(): phones for w, phones in settings.words.items()}
        try:
            problems: dict[str, list[str]] = {}
            custom = read_custom_words(profile_dir / "custom_words.txt", problems)
            errors, _unused = problems_for(needed - set(given), problems)  # only the phrases' words matter here
            if errors:
                raise PronunciationError("; ".join(errors))
        except PronunciationError as err:
            raise WakeConfigError(f"wake: {err}") from err
        unknown = []
        for word in sorted(needed):
            if word in given:
                extra[word] = " ".join(given[word].upper().split())
            elif custom.lookup(word):
                extra[word] = " ".join(custom.lookup(word)[0])
            elif probe.lookup_word(word) is None:
                unknown.append(word)
        if unknown:
            if not settings.guess_unknown_words:
                phrase = next(p.phrase for p in settings.phrases if unknown[0] in _normalize_phrase(p.phrase).split())
                raise WakeConfigError(
                    f"wake phrase {phrase!r}: the word {unknown[0]!r} is not in the pronunciation dictionary; "
                    f'add it to wake.pocketsphinx.words (e.g. "{unknown[0]}": "P H O N E S") or custom_words.txt'
                    ", or set wake.pocketsphinx.guess_unknown_words"
                )
            try:
                guesses = guess_pronunciations(unknown)
            except PronunciationError as err:
                raise WakeConfigError(f"wake: cannot guess pronunciations for {', '.join(unknown)}: {err}") from err
            for word in unknown:
                extra[word] = " ".join(guesses[word])
                _LOG.warning("wake word %r is not in the dictionary; using guessed phones %s", word, extra[word])
        return extra

    def _add_words(self, decoder: Decoder) -> None:
        for word, phones in self._extra_words.items():
            try:
                decoder.add_word(word, phones, True)
            except RuntimeError as err:
                raise WakeConfigError(f"wake: bad pronunciation for {word!r}: {phones!r} (use ARPAbet phones)") from err

    def _dictionary_text(self, probe: Decoder) -> str:
        """Every pronunciation (``word``, ``word(2)``, ...) of the words of all phrases, cmudict format."""
        lines = []
        for word in sorted({w for m in self.models for w in m.words.split()}):
            variant = 1
            while (phones := probe.lookup_word(word if variant == 1 else f"{word}({variant})")) is not None:
                lines.append(f"{word if variant == 1 else f'{word}({variant})'} {phones}")
                variant += 1
        return "\n".join(lines) + "\n"

    def _check_words(self, probe: Decoder) -> None:
        self._add_words(probe)
        for model in self.models:
            for word in model.words.split():
                if probe.lookup_word(word) is None:  # guards against a pronunciation that did not take
                    raise WakeConfigError(f"wake phrase {model.words!r}: the word {word!r} has no pronunciation")

    # ---- detectors -------------------------------------------------------------------------------------
    def new_detector(self) -> PocketsphinxWakeDetector:
        decoder = Decoder(**self._detector_args)
        decoder.add_kws(_SEARCH, self._kws_path)
        decoder.activate_search(_SEARCH)
        return PocketsphinxWakeDetector(decoder, self._model_by_phrase)

    def close(self) -> None:
        shutil.rmtree(self._tmpdir, ignore_errors=True)


class PocketsphinxWakeDetector:
    """Keyphrase search over one site's continuous stream."""

    def __init__(self, decoder: Decoder, models: dict[str, WakeModel]) -> None:
        self._decoder = decoder
        self._models = models
        self._samples = 0
        self._decoder.start_utt()

    def process(self, pcm: bytes) -> list[WakeDetection]:
        detections = []
        for start in range(0, len(pcm), _PIECE):
            piece = pcm[start : start + _PIECE]
            self._decoder.process_raw(piece)
            self._samples += len(piece) // SAMPLE_WIDTH
            hyp = self._decoder.hyp()
            if hyp is None:
                continue
            phrase = _normalize_phrase(hyp.hypstr)  # pocketsphinx appends a space
            model = self._models.get(phrase)
            if model is None:  # several phrases at once come back joined; take the first known one
                model = next((m for p, m in self._models.items() if phrase.startswith(p)), None)
            if model is not None:
                detections.append(WakeDetection(model, self._samples / 16000))
            self.reset()
        return detections

    def reset(self) -> None:
        self._decoder.end_utt()
        self._decoder.start_utt()

    def close(self) -> None:
        try:
            self._decoder.end_utt()
        except RuntimeError:
            pass

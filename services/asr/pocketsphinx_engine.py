"""pocketsphinx 5 engine: closed grammar from the intent graph (default), its n-gram model, or open dictation.

Decoders are pooled: each stream borrows one (loading the acoustic model costs 0.1-0.8 s, so one is loaded
ahead) and returns it after ``finish()``. Inputs are checked in Python first, because the C library crashes
or fails silently on missing files and unknown words (engines.md).

An utterance is decoded whole when it ends, cut to its speech (``SpeechSpan``), in one ``process_raw`` call
with ``full_utt``: pocketsphinx then normalises the cepstra over the utterance itself (batch CMN). Fed frame
by frame, it uses live CMN instead, which starts from a fixed prior and carries what earlier utterances left
in the decoder: the same recording then gave different text after different predecessors, and the coffee
recordings fed as 64 ms chunks lost 5-10 % more commands than decoded whole. Whole-utterance decoding makes the
text independent of how the audio was chunked (HTTP, MQTT frames, Wyoming) and of what the decoder did
before. With the minimal grammar it costs about 1/120 of the audio's duration, once, at the end.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from services.phonetics import bundled_dictionary_path
from services.profile import write_atomic

from .denoise import DenoiserUnavailableError, check_available, rnnoise
from .endpointer import SAMPLE_RATE, SpeechSpan, make_vad
from .engine import (
    AsrEngine,
    AsrEngineConfig,
    AsrEngineError,
    AsrStream,
    AsrTrainingData,
    ObjectPool,
    Token,
    WholeUtteranceStream,
)
from .fsg import Fsg, FsgError, check_words, parse_fsg
from .narrowband import fill_upper_band

LOG = logging.getLogger("hermesh.asr.pocketsphinx")

MODES = ("grammar", "ngram", "dictation")
GRAMMAR_SEARCH = "grammar"
FRAMES_PER_SECOND = 100.0  # pocketsphinx's default frame rate (-frate 100)
BYTES_PER_SECOND = 32000
DENOISE_CHOICES = ("none", "rnnoise", "auto")  # auto: RNNoise when the utterance's own SNR estimate is low


def _model_path() -> Path:
    from pocketsphinx import get_model_path

    return Path(get_model_path()) / "en-us"


@dataclass
class _PooledDecoder:
    decoder: Any  # pocketsphinx.Decoder
    searches: set[str] = field(default_factory=set)
    initial_cmn: str = ""  # the model's CMN prior, restored before every utterance


@dataclass
class _Model:
    """What one training produced; decoders are built from it."""

    mode: str
    dictionary_path: Path
    grammar: Fsg | None = None
    lm_path: Path | None = None
    extra_words: dict[str, list[str]] = field(default_factory=dict)  # dictation: custom/guessed words
    data: AsrTrainingData | None = None
    filtered: dict[tuple[str, ...], Fsg] = field(default_factory=dict)


class PocketsphinxAsrEngine(AsrEngine):
    """Options: ``mode`` (grammar | ngram | dictation), ``acoustic_model`` (dir, default: bundled en-us),
    ``dictation_lm`` / ``dictation_dictionary`` (default: bundled), ``max_idle_decoders`` (default 4),
    ``max_decoders`` decoding at once per kind, clean or noisy (default: the CPU count; later utterances wait),
    ``trim_silence`` (default true) with ``trim_padding`` seconds (0.3), ``trim_vad`` (pocketsphinx |
    webrtcvad | silero), ``trim_vad_mode`` (3) and ``trim_threshold`` (silero, 0.5),
    ``max_seconds`` of audio kept per utterance (120), ``denoise`` (none | rnnoise | auto, default auto: RNNoise
    on wideband utterances whose SNR estimate is below ``denoise_below_db``, 40), ``noisy_trim_vad`` (silero,
    cuts denoised utterances), ``narrowband_fill_db`` (-6: noise in the empty upper band of narrowband audio,
    relative to the top of the band it has; null: none, see ``narrowband.py``), and ``decoder``: pocketsphinx settings by name
    (``{"lw": 6.5, "wip": 0.65, ...}``), given to every decoder; ``noisy_decoder``: settings over those for the
    utterances judged noisy (default: wider beams, see below; ``{}`` decodes them like the others)."""

    name = "pocketsphinx"

    def __init__(self, config: AsrEngineConfig) -> None:
        super().__init__(config)
        options = config.options
        self.mode = str(options.get("mode", "grammar"))
        if self.mode not in MODES:
            raise AsrEngineError(f"pocketsphinx mode {self.mode!r}: choose one of {', '.join(MODES)}")
        self.acoustic_model = Path(options.get("acoustic_model") or _model_path() / "en-us")
        # Feeding only keeps the audio and runs the VAD (about 10 µs a frame): the service does it inline.
        self.feeds_inline = True
        self.trim_silence = bool(options.get("trim_silence", True))
        self.trim_padding = float(options.get("trim_padding", 0.3))
        self.trim_vad = str(options.get("trim_vad", "pocketsphinx"))
        # Silero cuts denoised utterances better than WebRTC's VAD, at ~100 ms per audio second: 150 coffee
        # commands at 6 dB, 107 understood (RTF 0.134) against 101 (RTF 0.086); at 12 dB 130 against 129.
        self.noisy_trim_vad = str(options.get("noisy_trim_vad", "silero"))
        self.trim_vad_mode = int(options.get("trim_vad_mode", 3))
        self.trim_threshold = float(options.get("trim_threshold", 0.5))
        self.max_bytes = int(float(options.get("max_seconds", 120.0)) * BYTES_PER_SECOND)
        self.decoder_settings = dict(options.get("decoder") or {})
        # Noisy utterances decode with wider beams: the word-exit beam (wbeam, default 7e-29) pruned the right
        # path in kitchen noise. On the dev half of the coffee commands at 6 dB (RNNoise + Silero cut, 137
        # files): 103 understood with the defaults, 110 with wbeam 1e-60, 114 with beam 1e-60 and wbeam 1e-40,
        # 117 with beam 1e-80 and wbeam 1e-60 (no gain beyond; lw, wip, silprob, fillprob, remove_noise changed
        # nothing or lost). On all 300 (bench/speech_bench.py): 6 dB 226 -> 252, held-out half 123 -> 135 of
        # 163; 12 dB 279. It costs ~1.7x the decode, so clean audio (dev half 133 -> 134 of 137) keeps the
        # defaults and its speed; a second decoder pool holds these settings.
        noisy = options.get("noisy_decoder", NOISY_DECODER)
        self.noisy_decoder_settings = {**self.decoder_settings, **dict(noisy)} if noisy else {}
        # auto by default: on the real coffee commands with kitchen noise, RNNoise (and Silero for the cut) raised
        # commands understood from 248 to 269 of 300 at 12 dB and from 185 to 227 at 6 dB; clean recordings
        # (SNR estimate 50-70 dB) and narrowband audio are left alone (293/300 clean, 301/400 digits either way).
        self.denoise = str(options.get("denoise", "auto"))
        self.denoise_below_db = float(options.get("denoise_below_db", 40.0))
        fill = options.get("narrowband_fill_db", -6.0)
        self.narrowband_fill_db = None if fill is None else float(fill)
        if self.denoise not in DENOISE_CHOICES:
            raise AsrEngineError(f"pocketsphinx denoise {self.denoise!r}: choose one of {', '.join(DENOISE_CHOICES)}")
        if self.denoise != "none":
            try:
                check_available()
            except DenoiserUnavailableError as err:
                if "denoise" in options:
                    raise AsrEngineError(str(err)) from err
                LOG.warning("noisy utterances are decoded as they are: %s", err)
                self.denoise = "none"
        self.dictation_lm = Path(options.get("dictation_lm") or _model_path() / "en-us.lm.bin")
        self.dictation_dictionary = Path(options.get("dictation_dictionary") or bundled_dictionary_path())
        self._check_files(self.acoustic_model, ["mdef", "means", "variances", "transition_matrices", "feat.params"])
        self._model: _Model | None = None
        self._lock = threading.Lock()
        idle = int(options.get("max_idle_decoders", 4))
        live = int(options.get("max_decoders") or os.cpu_count() or 2)
        if live < 1:
            raise AsrEngineError(f"asr max_decoders must be at least 1, not {live}")
        self._pool = ObjectPool(self._new_decoder, max_idle=idle, max_live=live)
        self._noisy_pool = ObjectPool(lambda: self._new_decoder(self.noisy_decoder_settings), max_idle=idle,
                                      max_live=live) if self.noisy_decoder_settings and self.denoise != "none" else None

    # ---- training ---------------------------------------------------------------------------------------
    def train(self, data: AsrTrainingData) -> None:
        """Check everything first, then write the files and swap: a failed training keeps the old model."""
        work = self.config.work_dir
        if self.mode == "dictation":
            self._check_files(self.dictation_lm.parent, [self.dictation_lm.name, self.dictation_dictionary.name])
            model = _Model(self.mode, self.dictation_dictionary, extra_words=self._extra_words(data), data=data)
        else:
            model = _Model(self.mode, work / "dictionary.txt", data=data)
            has_pronunciation = data.dictionary.__contains__
            if self.mode == "grammar":
                model.grammar = parse_fsg(data.fsg_text, "grammar from the intent graph")
                check_words(model.grammar.words(), has_pronunciation)
            else:
                if not data.arpa_text:
                    raise AsrEngineError("pocketsphinx mode 'ngram' needs an n-gram model; the training gave none")
                check_words(_arpa_unigrams(data.arpa_text), has_pronunciation)
                model.lm_path = work / "language_model.arpa"
                write_atomic(model.lm_path, data.arpa_text)
            write_atomic(model.dictionary_path, data.dictionary.to_text(data.vocabulary))
        with self._lock:
            self._model = model
        for pool in self._pools():
            pool.reset()
            pool.prewarm()  # load one decoder now, not during the first utterance

    def _pools(self) -> list[ObjectPool]:
        return [self._pool] + ([self._noisy_pool] if self._noisy_pool is not None else [])

    @staticmethod
    def _extra_words(data: AsrTrainingData) -> dict[str, list[str]]:
        """Dictation keeps the big dictionary; only words it lacks (custom or guessed) are added."""
        return {w: data.dictionary.lookup(w)[0] for w in data.vocabulary if data.dictionary.lookup(w)}

    @staticmethod
    def _check_files(directory: Path, names: list[str]) -> None:
        if not directory.is_dir():
            raise AsrEngineError(f"pocketsphinx model directory not found: {directory}")
        missing = [n for n in names if not (directory / n).is_file()]
        if missing:
            raise AsrEngineError(f"pocketsphinx model directory {directory} lacks: {', '.join(missing)}")

    # ---- decoders ----------------------------------------------------------------------------------------
    def _new_decoder(self, settings: dict[str, Any] | None = None) -> _PooledDecoder:
        from pocketsphinx import Decoder

        model = self._require_model()
        factory = Decoder if settings is None else lambda **kw: Decoder(**{**kw, **settings})
        if model.mode == "dictation":
            decoder = self._decoder(factory, dict=str(model.dictionary_path), lm=str(self.dictation_lm))
            for word, phones in model.extra_words.items():
                if decoder.lookup_word(word) is None:
                    decoder.add_word(word, " ".join(phones), False)
            return _PooledDecoder(decoder)
        if model.mode == "ngram":
            decoder = self._decoder(factory, dict=str(model.dictionary_path), lm=str(model.lm_path))
            return _PooledDecoder(decoder)
        decoder = self._decoder(factory, dict=str(model.dictionary_path), lm=None, bestpath=False)
        pooled = _PooledDecoder(decoder)
        assert model.grammar is not None
        self._add_fsg(pooled, GRAMMAR_SEARCH, model.grammar)
        return pooled

    def _decoder(self, factory: Any, **settings: Any) -> Any:
        """A decoder with the model, these settings and the user's ``decoder`` settings (theirs win)."""
        merged = {"hmm": str(self.acoustic_model), "loglevel": "FATAL", **settings, **self.decoder_settings}
        try:
            decoder = factory(**merged)
        except (KeyError, ValueError, RuntimeError) as err:
            raise AsrEngineError(f"pocketsphinx rejected the decoder settings {self.decoder_settings}: {err}") from err
        return decoder

    @staticmethod
    def _add_fsg(pooled: _PooledDecoder, search: str, grammar: Fsg) -> None:
        d = pooled.decoder
        arcs = [(s, t, p, w) if w is not None else (s, t, p) for s, t, p, w in grammar.transitions]
        d.add_fsg(search, d.create_fsg(search, grammar.start, grammar.final, arcs))
        pooled.searches.add(search)

    def _require_model(self) -> _Model:
        with self._lock:
            model = self._model
        if model is None:
            raise AsrEngineError("the pocketsphinx engine is not trained yet; run 'hermesh train' first")
        return model

    def _grammar_search(self, intent_filter: Sequence[str] | None) -> tuple[str | None, Fsg | None]:
        """The search for this intent filter and, for a filtered grammar, the grammar to add to a decoder that
        lacks it (parsed once per filter). A bad filter is an error here, when the stream opens."""
        model = self._require_model()
        if model.mode != "grammar":
            return None, None  # n-gram and dictation decoders have one search; intent filters need a grammar
        if not intent_filter or model.data is None or model.data.fsg_for_intents is None:
            return GRAMMAR_SEARCH, None
        key = tuple(sorted(set(intent_filter)))
        grammar = model.filtered.get(key)
        if grammar is None:
            try:
                grammar = parse_fsg(model.data.fsg_for_intents(key), f"grammar for intents {', '.join(key)}")
            except FsgError as err:
                raise AsrEngineError(f"intent filter {list(key)}: {err}") from err
            model.filtered[key] = grammar
        return "intents:" + ",".join(key), grammar

    def open_stream(self, intent_filter: Sequence[str] | None = None) -> AsrStream:
        self._grammar_search(intent_filter)  # not trained, or a filter that gives no grammar: say so now
        return WholeUtteranceStream(lambda pcm: self.decode(pcm, intent_filter), self.max_bytes)

    def _ready(self, pooled: _PooledDecoder, intent_filter: Sequence[str] | None) -> str | None:
        """The decoder's search for this intent filter, activated; its CMN prior noted on first use."""
        search, grammar = self._grammar_search(intent_filter)
        if grammar is not None and search is not None and search not in pooled.searches:
            self._add_fsg(pooled, search, grammar)
        if search is not None:  # (current_search() crashes on a decoder with no active search: don't ask)
            pooled.decoder.activate_search(search)
        if not pooled.initial_cmn:
            pooled.initial_cmn = pooled.decoder.get_cmn(False)
        return search

    def decode(self, pcm: bytes, intent_filter: Sequence[str] | None) -> tuple[list[Token], float]:
        """One whole utterance on a decoder taken from the pool for just this decode (the noisy settings' pool
        when the utterance is judged noisy): the tokens and their mean confidence.

        Decoders are taken here, not when a stream opens: an open stream only keeps its audio, so a hundred
        sessions listening at once hold no decoder (about 20 MB each), and the live decoders are at most the
        decodes running at the same time."""
        pcm, noisy = self.prepare(pcm)
        pool = self._noisy_pool if noisy and self._noisy_pool is not None else self._pool
        pooled, generation = pool.take()
        try:
            result = _utterance(pooled, self._ready(pooled, intent_filter), pcm)
        except BaseException:
            pool.lost()  # its state is unknown: not reused
            raise
        pool.give_back(pooled, generation)
        return result

    def noisy_decoder(self, intent_filter: Sequence[str] | None) -> tuple[_PooledDecoder, int, str | None] | None:
        """A decoder with the noisy settings (give it back with ``give_back_noisy``); None when there are none."""
        if self._noisy_pool is None:
            return None
        pooled, generation = self._noisy_pool.take()
        try:
            return pooled, generation, self._ready(pooled, intent_filter)
        except BaseException:
            self._noisy_pool.lost()  # not given back: its state is unknown, and its slot must not stay taken
            raise

    def give_back_noisy(self, pooled: _PooledDecoder, generation: int) -> None:
        if self._noisy_pool is not None:
            self._noisy_pool.give_back(pooled, generation)

    def prepare(self, pcm: bytes) -> tuple[bytes, bool]:
        """What the decoder is given of an utterance: denoised when asked (or, with ``auto``, when noisy),
        narrowband audio with its upper band filled, then cut to its speech; and whether it was judged noisy."""
        narrowband = is_narrowband(pcm) if self.denoise == "auto" or self.narrowband_fill_db is not None else False
        filled = narrowband and self.narrowband_fill_db is not None
        if filled:  # before the cut, so the cut sees the fricatives at the word's edges as speech
            pcm = fill_upper_band(pcm, self.narrowband_fill_db)  # type: ignore[arg-type]
        # Narrowband audio, filled or not, keeps the clean path. On the 400 real 8 kHz digits: as they are 301
        # (165/208 dev, 136/192 held-out), filled 311 (167, 144); filled and always denoised 313 (166, 147) at a
        # fifth of the speed; filled and judged by its SNR estimate 324, but the estimate of a file cut to the
        # word flips when a stream adds the microphone's quiet frames, so the MQTT path heard 4 of 60 otherwise.
        noisy = self.denoise == "rnnoise" or (self.denoise == "auto" and not narrowband
                                              and estimated_snr_db(pcm) < self.denoise_below_db)
        if noisy:
            pcm = rnnoise(pcm)
        if self.trim_silence:
            # WebRTC's VAD calls most frames of a noisy recording speech; Silero does not (engines.md §4)
            vad = self.noisy_trim_vad if noisy else self.trim_vad
            span = SpeechSpan(make_vad(vad, self.trim_vad_mode, self.trim_threshold))
            span.process(pcm)
            pcm = span.cut(pcm, self.trim_padding)
        return pcm, noisy

    def close(self) -> None:
        for pool in self._pools():
            pool.reset()


def _utterance(pooled: _PooledDecoder, search: str | None, pcm: bytes) -> tuple[list[Token], float]:
    decoder = pooled.decoder
    # Every utterance from the same state. The front end's noise removal (remove_noise, on by default)
    # adapts its noise estimate over everything the decoder heard before: the same real digit decoded
    # "nine" on a fresh decoder and "eight" after seven other files. Re-initialising the feature
    # extraction (0.1 ms) forgets it; the search has to be activated again after it.
    search = search or decoder.current_search()
    decoder.reinit_feat()
    decoder.activate_search(search)
    decoder.set_cmn(pooled.initial_cmn)
    decoder.start_utt()
    if pcm:
        decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    hyp = decoder.hyp()
    tokens = _tokens(decoder) if hyp is not None and hyp.hypstr.strip() else []
    return tokens, (sum(t.confidence for t in tokens) / len(tokens) if tokens else 0.0)


NOISY_DECODER = {"beam": 1e-80, "wbeam": 1e-60}


def is_narrowband(pcm: bytes, edge_hz: float = 4200.0, below_db: float = -30.0) -> bool:
    """True when (almost) nothing is above ``edge_hz``: telephony or 8 kHz audio resampled to 16 kHz.

    RNNoise is trained on full-band speech and misjudges band-limited audio: the 400 real 8 kHz digits lost
    8 commands with it (296 -> 288), and their SNR estimate says nothing (the files are cut to the word, with
    no quiet frame to compare), so ``auto`` leaves narrowband audio alone.

    The FFT is zero-padded to a length with no prime factor over 5: at the utterance's own length (often a
    large prime factor) it took 4.2 ms of a 2.5 s command's 35 ms decode, 10 ms at worst; padded, 0.7 ms. On
    the 1,740 files of bench/speech_bench.py's sets (short, coffee clean, at 24 and 6 dB, digits, μ-law digits)
    no decision changed; the share above the edge moved by at most 0.02 dB on wideband files, and the file
    closest to the threshold sits 0.1 dB from it.
    """
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    if len(samples) < 512:
        return False
    size = _fast_fft_length(len(samples))
    spectrum = np.fft.rfft(samples, n=size)
    power = spectrum.real.astype(np.float64) ** 2 + spectrum.imag.astype(np.float64) ** 2
    edge = int(edge_hz / SAMPLE_RATE * size)
    total = float(power.sum()) or 1.0
    return bool(10 * np.log10(float(power[edge:].sum()) / total + 1e-12) < below_db)


def _fast_fft_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n."""
    best = 1 << max(0, (n - 1).bit_length())
    three = 1
    while three < best:
        five = three
        while five < best:
            length = five
            while length < n:
                length *= 2
            best = min(best, length)
            five *= 5
        three *= 3
    return best


def estimated_snr_db(pcm: bytes) -> float:
    """Loud frames over quiet ones (95th over 10th percentile of 30 ms frame energies), in dB.

    A cheap look at how noisy an utterance is: the coffee recordings measure 50-70 dB clean, and 14-38 dB
    with kitchen noise mixed in at 6-24 dB SNR.
    """
    frame = 480
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    count = len(samples) // frame
    if count < 2:
        return float("inf")
    energy = 10 * np.log10(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1) + 1.0)
    return float(np.percentile(energy, 95) - np.percentile(energy, 10))


def _tokens(decoder: Any) -> list[Token]:
    """Words of the best path with confidences; fillers, silences and epsilon arcs left out."""
    tokens = []
    for seg in decoder.seg():
        word = seg.word
        if not word or word.startswith(("<", "[", "(")):
            continue
        if word.endswith(")") and "(" in word:  # alternative pronunciation: on(2) -> on
            word = word[: word.index("(")]
        confidence = min(1.0, max(0.0, float(seg.prob)))
        tokens.append(Token(word, confidence, seg.start_frame / FRAMES_PER_SECOND,
                            (seg.end_frame + 1) / FRAMES_PER_SECOND))
    return tokens


def _arpa_unigrams(arpa_text: str) -> list[str]:
    words, in_unigrams = [], False
    for line in arpa_text.splitlines():
        line = line.strip()
        if line.startswith("\\"):
            in_unigrams = line == "\\1-grams:"
            continue
        if in_unigrams and line:
            parts = line.split()
            if len(parts) >= 2 and parts[1] not in ("<s>", "</s>", "<unk>"):
                words.append(parts[1])
    return words


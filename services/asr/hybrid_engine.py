"""Grammar first, whisper as the fallback: ``"asr": {"engine": "hybrid"}`` (issue 17).

The closed grammar (pocketsphinx) decodes every utterance, as the default engine does. When its text is empty, not
recognised by the profile's NLU (its trained intent graph, non-fuzzy, with the stream's intent filter), or its
likelihood is under ``min_likelihood``, the same audio goes to faster-whisper. Its normalised text is the
transcript when the NLU understands it (with the NLU's own fuzzy setting), or when it is not the same command as
the grammar's (fewer than ``same_command`` of their words in common, in order): a sentence outside the grammar, for
the NLU to refuse and the conversation path to take. When whisper heard the grammar's command but garbled it, the
grammar's text stays: on 60 coffee commands at 6 dB, replacing it lost 4 files and won 2. The transcript says which
path gave its text (``source``: "grammar" or "whisper"), and the ASR service puts that on textCaptured.
Options: ``whisper`` (the faster-whisper engine's options), ``min_likelihood`` (0.9; 0: only empty or not
understood), ``same_command`` (0.5), and the pocketsphinx options as for ``pocketsphinx`` (top level, or under
``grammar``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

from services.engines import EngineConfig

from .engine import AsrEngine, AsrStream, AsrTrainingData, Token, Transcript, WholeUtteranceStream
from .pocketsphinx_engine import PocketsphinxAsrEngine
from .whisper_engine import FasterWhisperAsrEngine

LOG = logging.getLogger("hermesh.asr.hybrid")
OWN_OPTIONS = ("whisper", "grammar", "min_likelihood", "same_command")
# Real coffee orders decode at a likelihood of 0.92-0.96; "add milk to the shopping list" forced into the coffee
# grammar at 0.88 (tests/asr/test_hybrid_engine.py).
MIN_LIKELIHOOD = 0.9
GRAMMAR, WHISPER = "grammar", "whisper"  # the transcript's source: which path gave the text


class HybridStream(WholeUtteranceStream):
    """The whole utterance, decoded at the end by the hybrid; its transcript names the path that answered."""

    def __init__(self, engine: HybridAsrEngine, intent_filter: Sequence[str] | None) -> None:
        super().__init__(self._decode_noting_source, engine.max_bytes)
        self._engine = engine
        self._intent_filter = intent_filter
        self._source: str | None = None

    def _decode_noting_source(self, pcm: bytes) -> tuple[list[Token], float]:
        if not pcm:
            return [], 0.0
        tokens, likelihood, self._source = self._engine.decode(pcm, self._intent_filter)
        return tokens, likelihood

    def finish(self) -> Transcript:
        transcript = super().finish()
        # an empty text came from neither path: the grammar heard nothing and neither did whisper
        return dataclasses.replace(transcript, source=self._source) if transcript.text else transcript


class HybridAsrEngine(AsrEngine):
    """pocketsphinx's closed grammar, then faster-whisper for what the grammar did not get (module doc)."""

    name = "hybrid"
    feeds_inline = True  # both keep the audio and decode it at the end

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        options = config.options
        grammar = {k: v for k, v in options.items() if k not in OWN_OPTIONS} | dict(options.get("grammar") or {})
        self.grammar = PocketsphinxAsrEngine(EngineConfig(config.profile_dir, config.work_dir, grammar))
        self.whisper = FasterWhisperAsrEngine(EngineConfig(config.profile_dir, config.work_dir,
                                                           dict(options.get("whisper") or {})))
        self.min_likelihood = float(options.get("min_likelihood", MIN_LIKELIHOOD))
        self.same_command = float(options.get("same_command", 0.5))
        self.max_bytes = max(self.grammar.max_bytes, self.whisper.max_bytes)
        self._lock = threading.Lock()
        self._nlu: Any = None
        self.fallbacks = 0  # utterances whisper answered (for logs and benchmarks)

    def train(self, data: AsrTrainingData) -> None:
        from services.nlu.training import load_trained_profile

        self.grammar.train(data)
        self.whisper.train(data)
        nlu = load_trained_profile(self.config.profile_dir)
        with self._lock:
            self._nlu = nlu

    def open_stream(self, intent_filter: Sequence[str] | None = None) -> AsrStream:
        self.grammar.open_stream(intent_filter)  # not trained, or a bad filter: said now, as pocketsphinx does
        return HybridStream(self, intent_filter)

    def understood(self, text: str, intent_filter: Sequence[str] | None, fuzzy: bool | None = False) -> bool:
        """Whether the profile's NLU recognises a text (no trained NLU: any text counts); ``fuzzy`` None: the
        NLU's own setting."""
        with self._lock:
            nlu = self._nlu
        if not text:
            return False
        return nlu is None or bool(nlu.recognize(text, fuzzy=fuzzy, intent_filter=intent_filter))

    def decode(self, pcm: bytes, intent_filter: Sequence[str] | None) -> tuple[list[Token], float, str]:
        """Tokens, likelihood and the path that gave them (GRAMMAR or WHISPER)."""
        tokens, likelihood = self.grammar.decode(pcm[: self.grammar.max_bytes], intent_filter)
        text = " ".join(t.value for t in tokens)
        if self.understood(text, intent_filter) and likelihood >= self.min_likelihood:
            return tokens, likelihood, GRAMMAR
        heard, heard_likelihood = self.whisper.transcribe(pcm[: self.whisper.max_bytes])
        whisper_text = " ".join(t.value for t in heard)
        if not heard or (text and not self.understood(whisper_text, intent_filter, fuzzy=None)
                         and same_words(text, whisper_text) >= self.same_command):
            LOG.debug("grammar heard %r (%.2f), whisper %r: the grammar's", text, likelihood, whisper_text)
            return tokens, likelihood, GRAMMAR
        self.fallbacks += 1
        LOG.debug("grammar heard %r (%.2f): whisper's %r instead", text, likelihood, whisper_text)
        return heard, heard_likelihood, WHISPER

    def close(self) -> None:
        self.grammar.close()
        self.whisper.close()


def same_words(a: str, b: str) -> float:
    """How much two transcripts are the same words in the same order (0..1)."""
    return SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


"""Kaldi engine through kaldi-active-grammar (optional extra ``hermesh[kaldi]``, AGPL-3.0-or-later).

Used when the profile names a KAG-format nnet3 chain model directory (``asr.kaldi_model_dir``). The
closed grammar is the same FSG the pocketsphinx engine uses (from the NLU's intent graph), loaded as one
KAG rule. Words the model's lexicon lacks get our pronunciations (ARPAbet; KAG converts them to its phone
set). The directory is checked first, because KAG reports a missing file with unrelated errors
(``AttributeError`` on an empty directory, engines.md §2). No model can be downloaded here, so tests stop
at the model boundary; the loading code below follows KAG's API as read from its source (3.2.0).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import (
    AsrEngine,
    AsrEngineConfig,
    AsrEngineError,
    AsrStream,
    AsrTrainingData,
    ObjectPool,
    PooledStream,
    Token,
)
from .fsg import Fsg, parse_fsg

REQUIRED_MODEL_VERSION = "0.5.0"  # kaldi-active-grammar 3.x
# Files KAG needs (found anywhere below the model directory, as KAG's find_file does).
REQUIRED_FILES = (
    "final.mdl", "tree", "phones.txt", "words.base.txt", "align_lexicon.base.int", "lexiconp_disambig.base.txt",
    "disambig.int", "L_disambig.fst", "left_context_phones.txt", "nonterminals.txt", "wdisambig_phones.int",
    "wdisambig_words.int", "mfcc_hires.conf", "ivector_extractor.conf", "final.ie",
)
INSTALL_HINT = "pip install 'hermesh[kaldi]' (kaldi-active-grammar, AGPL-3.0-or-later)"


def _find(root: Path, name: str) -> Path | None:
    for directory, _, files in os.walk(root):
        if name in files:
            return Path(directory) / name
    return None


def check_model_dir(model_dir: Path) -> None:
    """Raise one message naming everything wrong with a Kaldi model directory (before KAG sees it)."""
    if not model_dir.is_dir():
        raise AsrEngineError(f"Kaldi model directory not found: {model_dir}")
    missing = [name for name in REQUIRED_FILES if _find(model_dir, name) is None]
    if missing:
        raise AsrEngineError(
            f"Kaldi model incomplete: {model_dir} lacks {', '.join(missing)}; it must be a kaldi-active-grammar "
            f"model (KAG_VERSION {REQUIRED_MODEL_VERSION}), e.g. kaldi_model_daanzu_*.zip unpacked"
        )
    version_file = model_dir / "KAG_VERSION"
    if version_file.is_file():
        version = version_file.read_text(encoding="utf-8").strip()
        if version != REQUIRED_MODEL_VERSION:
            raise AsrEngineError(
                f"Kaldi model {model_dir} has KAG_VERSION {version}; kaldi-active-grammar needs {REQUIRED_MODEL_VERSION}"
            )
    if not os.access(model_dir, os.W_OK):
        raise AsrEngineError(f"Kaldi model directory {model_dir} must be writable (KAG writes its caches there)")
    phones = _find(model_dir, "phones.txt")
    assert phones is not None
    if "#nonterm_bos" not in phones.read_text(encoding="utf-8", errors="replace"):
        raise AsrEngineError(f"{phones} has no #nonterm symbols: not a kaldi-active-grammar model")


def import_kag() -> Any:
    try:
        import kaldi_active_grammar as kag
    except ImportError as err:
        raise AsrEngineError(f"the Kaldi engine needs kaldi-active-grammar: {INSTALL_HINT}") from err
    kag.disable_donation_message()
    return kag


def fsg_to_wfst(fsg: Fsg, fst: Any) -> None:
    """Copy an FSG into a KAG WFST/NativeWFST (add_state/add_arc; probabilities become arc weights)."""
    states = [fst.add_state(initial=(i == fsg.start), final=(i == fsg.final)) for i in range(fsg.num_states)]
    for src, dst, prob, word in fsg.transitions:
        fst.add_arc(states[src], states[dst], word, weight=prob)  # word None = epsilon


@dataclass
class _KaldiDecoder:
    """One KAG compiler with its decoder and the grammar rule (a KAG decoder decodes one stream at a time)."""

    compiler: Any
    decoder: Any
    rule: Any


class KaldiAsrEngine(AsrEngine):
    """Options: ``model_dir`` (required), ``max_idle_decoders`` (default 1: each holds a whole model)."""

    name = "kaldi"

    def __init__(self, config: AsrEngineConfig) -> None:
        super().__init__(config)
        model_dir = config.options.get("model_dir")
        if not model_dir:
            raise AsrEngineError("the Kaldi engine needs asr.kaldi_model_dir in profile.json")
        self.model_dir = Path(model_dir)
        check_model_dir(self.model_dir)
        self._kag = import_kag()
        self._grammar: Fsg | None = None
        self._data: AsrTrainingData | None = None
        self._lock = threading.Lock()
        self._pool = ObjectPool(self._new_decoder, max_idle=int(config.options.get("max_idle_decoders", 1)))

    def train(self, data: AsrTrainingData) -> None:
        grammar = parse_fsg(data.fsg_text, "grammar from the intent graph")
        with self._lock:
            self._grammar, self._data = grammar, data
        self._pool.reset()
        self._pool.prewarm()

    def _new_decoder(self) -> _KaldiDecoder:
        with self._lock:
            grammar, data = self._grammar, self._data
        if grammar is None or data is None:
            raise AsrEngineError("the Kaldi engine is not trained yet; run 'hermesh train' first")
        kag = self._kag
        tmp_dir = self.config.work_dir / "kaldi_cache"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        try:
            compiler = kag.Compiler(model_dir=str(self.model_dir), tmp_dir=str(tmp_dir))
            lexicon = compiler.lexicon_words
            added = False
            for word in sorted(grammar.words()):
                if word.lower() not in lexicon:
                    prons = data.dictionary.lookup(word)
                    if not prons:
                        raise AsrEngineError(f"word {word!r} has no pronunciation for the Kaldi lexicon")
                    compiler.add_word(word, prons[0], lazy_compilation=True)
                    added = True
            if added:
                compiler.model.generate_lexicon_files()
            decoder = compiler.init_decoder()
            rule = kag.KaldiRule(compiler, "hermesh_grammar")
            fsg_to_wfst(grammar, rule.fst)
            rule.compile()
            rule.load()
            compiler.prepare_for_recognition()
        except self._kag.KaldiError as err:
            raise AsrEngineError(f"Kaldi model {self.model_dir}: {err}") from err
        return _KaldiDecoder(compiler, decoder, rule)

    def open_stream(self, intent_filter: Sequence[str] | None = None) -> AsrStream:
        # One rule per decoder: intent filters would need a rule per filter (not done; the NLU still filters).
        pooled, generation = self._pool.take()
        return KaldiStream(self, pooled, generation)

    def close(self) -> None:
        self._pool.reset()


class KaldiStream(PooledStream):
    def __init__(self, engine: KaldiAsrEngine, pooled: _KaldiDecoder, generation: int) -> None:
        super().__init__(pooled, generation, engine._pool.give_back)
        self._started = False

    def _decode(self, pcm: bytes) -> None:
        # grammars_activity is passed at the start of an utterance only (KAG's convention)
        self._pooled.decoder.decode(pcm, False, None if self._started else [True])
        self._started = True

    def _end(self) -> tuple[list[Token], float]:
        decoder = self._pooled.decoder
        decoder.decode(b"", True, None if self._started else [True])
        output, info = decoder.get_output()
        _, words, _ = self._pooled.compiler.parse_output(output)
        confidence = float(min(1.0, max(0.0, info.get("confidence", 0.0))))
        # KAG gives no per-word times here: each word spans the utterance
        return [Token(w, confidence, 0.0, self.audio_seconds) for w in words], confidence

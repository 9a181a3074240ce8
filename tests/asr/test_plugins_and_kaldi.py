"""Engines by name or module path (a user's own class), and the Kaldi engine up to the model boundary."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from services.asr.engine import AsrEngineConfig, AsrEngineError
from services.asr.fsg import parse_fsg
from services.asr.kaldi_engine import REQUIRED_FILES, KaldiAsrEngine, check_model_dir, fsg_to_wfst, import_kag
from services.asr.registry import ASR_ENGINES

from .grammar import LIGHTS_FSG, LIGHTS_SENTENCES
from .test_pocketsphinx_engine import training_data

CUSTOM_ENGINE = '''
from services.asr.engine import AsrEngine, AsrStream, Transcript

class EchoStream(AsrStream):
    def __init__(self, engine):
        self.engine, self.samples = engine, 0
    def feed(self, pcm):
        self.samples += len(pcm) // 2
    def finish(self):
        return Transcript(self.engine.answer, 0.5, audio_seconds=self.samples / 16000)

class MyAsr(AsrEngine):
    def train(self, data):
        self.answer = data.vocabulary[0] + " " + self.config.options["suffix"]
    def open_stream(self, intent_filter=None):
        return EchoStream(self)
'''


@pytest.fixture
def addon_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    package = tmp_path / "addons"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "custom_asr.py").write_text(textwrap.dedent(CUSTOM_ENGINE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "addons.custom_asr"
    for name in ("addons.custom_asr", "addons"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("separator", [".", ":"])
def test_a_users_engine_class_is_loaded_by_module_path(addon_module: str, tmp_path: Path, separator: str) -> None:
    engine = ASR_ENGINES.create(f"{addon_module}{separator}MyAsr", AsrEngineConfig(tmp_path, tmp_path, {"suffix": "!"}))
    engine.train(training_data())
    stream = engine.open_stream()
    stream.feed(b"\x00" * 3200)
    transcript = stream.finish()
    assert transcript.text == "garage !" and transcript.audio_seconds == pytest.approx(0.1)


def test_bad_engine_paths_are_explained(addon_module: str) -> None:
    with pytest.raises(AsrEngineError, match="cannot import module 'nope'"):
        ASR_ENGINES.engine_class("nope.Engine")
    with pytest.raises(AsrEngineError, match="has no class 'Missing'"):
        ASR_ENGINES.engine_class(f"{addon_module}.Missing")
    with pytest.raises(AsrEngineError, match="lacks method"):
        ASR_ENGINES.engine_class("pathlib.Path")
    with pytest.raises(AsrEngineError, match="use one of pocketsphinx, kaldi"):
        ASR_ENGINES.engine_class("whisper")


def fake_kag_model(root: Path, skip: str | None = None) -> Path:
    """A directory with every file name KAG looks for (contents are not a model)."""
    root.mkdir()
    for name in REQUIRED_FILES:
        if name != skip:
            (root / name).write_text("x\n")
    (root / "phones.txt").write_text("<eps> 0\nSIL 1\n#nonterm_bos 2\n")
    (root / "KAG_VERSION").write_text("0.5.0\n")
    return root


def test_missing_kaldi_model_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(AsrEngineError, match="not found"):
        check_model_dir(tmp_path / "none")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AsrEngineError, match="final.mdl, tree, phones.txt"):
        check_model_dir(empty)
    with pytest.raises(AsrEngineError, match=r"lacks final\.ie"):
        check_model_dir(fake_kag_model(tmp_path / "m1", skip="final.ie"))
    old = fake_kag_model(tmp_path / "m2")
    (old / "KAG_VERSION").write_text("0.4.0")
    with pytest.raises(AsrEngineError, match="needs 0.5.0"):
        check_model_dir(old)
    with pytest.raises(AsrEngineError, match="kaldi_model_dir"):
        ASR_ENGINES.create("kaldi", AsrEngineConfig(tmp_path, tmp_path, {}))


def test_kaldi_engine_reaches_kag_and_reports_its_complaint(tmp_path: Path) -> None:
    pytest.importorskip("kaldi_active_grammar", reason="optional extra hermesh[kaldi] (AGPL) not installed")
    model = fake_kag_model(tmp_path / "model")
    engine = ASR_ENGINES.create("kaldi", AsrEngineConfig(tmp_path, tmp_path / "work", {"model_dir": model}))
    assert isinstance(engine, KaldiAsrEngine)
    with pytest.raises(AsrEngineError, match=f"Kaldi model {model}: .*words.base.txt"):
        engine.train(training_data())  # KAG itself reads the (fake) lexicon and refuses it


def test_the_intent_grammar_becomes_a_kag_fst_accepting_the_same_sentences() -> None:
    pytest.importorskip("kaldi_active_grammar", reason="optional extra hermesh[kaldi] (AGPL) not installed")
    kag = import_kag()
    fst = kag.WFST()
    fsg_to_wfst(parse_fsg(LIGHTS_FSG), fst)
    for sentence in LIGHTS_SENTENCES + ["turn on living room lamp"]:
        assert fst.does_match(sentence.split())
    assert not fst.does_match("turn the lamp".split())

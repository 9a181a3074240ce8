"""The faster-whisper engine (issue 17) with the bundled tiny.en model on real coffee commands of ../shared/speech:
whole files, and streamed through the ASR service on a real broker. Accuracy is judged, never timing."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import AudioSessionFrame
from hermes.wav import pcm_to_wav, to_pcm16k_mono
from services.asr.engine import AsrTrainingData
from services.asr.service import AsrService, AsrSettings
from services.asr.whisper_engine import (
    FasterWhisperAsrEngine,
    bundled_model_path,
    vocabulary_prompt,
)
from services.config import CommonSettings, ConfigError
from services.engine_loader import load_engine
from services.engines import EngineConfig, EngineError
from services.nlu.training import load_trained_profile, train_profile
from tests.speech.voices import sd

pytestmark = [pytest.mark.timeout(300),
              # CI installs the extra (scripts/install.sh --test): there a missing model fails instead
              pytest.mark.skipif(bundled_model_path() is None and not os.environ.get("CI"),
                                 reason="hermesh[whisper] is not installed")]

SAMPLE = 20
TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def no_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing may download: faster-whisper's hub download fails the test if anything calls it."""
    import faster_whisper.transcribe
    import faster_whisper.utils

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"faster-whisper tried to download a model: {args} {kwargs}")

    monkeypatch.setattr(faster_whisper.utils, "download_model", refuse)
    monkeypatch.setattr(faster_whisper.transcribe, "download_model", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield


@pytest.fixture(scope="module")
def coffee(tmp_path_factory: pytest.TempPathFactory) -> Path:
    profile = sd.coffee_profile(tmp_path_factory.mktemp("whisper") / "coffee")
    train_profile(profile)
    return profile


def whisper_engine(profile: Path, **options: Any) -> FasterWhisperAsrEngine:
    """The engine as the ASR service builds and trains it (its own pocketsphinx options passed along too)."""
    service = AsrService(CommonSettings(profile=profile), AsrSettings(engine="faster-whisper", engine_options=options))
    engine = service._create_engine()  # noqa: SLF001 - the service's own construction; nothing is sent
    assert isinstance(engine, FasterWhisperAsrEngine)
    service.engine = engine
    service._train_from_profile()  # noqa: SLF001
    return engine


def test_real_coffee_commands_are_understood(coffee: Path) -> None:
    engine = whisper_engine(coffee)
    assert engine.prompt and "americano" in engine.prompt and " a " not in engine.prompt
    trained = load_trained_profile(coffee)
    chosen = sd.sample(sd.coffee_utterances(), SAMPLE)
    right, texts = 0, []
    for u in chosen:
        stream = engine.open_stream()
        stream.feed(to_pcm16k_mono(u.wav))
        transcript = stream.finish()
        texts.append(transcript.text)
        assert transcript.text == transcript.text.lower() and "?" not in transcript.text
        assert [t.value for t in transcript.tokens] == transcript.text.split()
        intent, slots = sd.meaning_of(trained, transcript.text)
        right += sd.accepted(u, intent, slots)
    print(f"whisper tiny.en: {right}/{len(chosen)} accepted", *texts, sep="\n")
    # the floor, under what it measures: 17/20 on this sample (the bench: ~83 % of 60 clean)
    assert right >= 15, f"only {right}/{len(chosen)} understood"


def test_silence_gives_no_words(coffee: Path) -> None:
    engine = whisper_engine(coffee)
    stream = engine.open_stream()
    stream.feed(bytes(16000 * 2))
    assert stream.finish().text == ""
    stream = engine.open_stream()
    assert stream.finish().text == ""  # nothing fed at all


async def test_the_asr_service_transcribes_a_real_command(
    run_service: Callable[..., Any], mqtt_client: Any, coffee: Path, site_id: str
) -> None:
    u = sd.sample(sd.coffee_utterances(), SAMPLE)[1]
    pcm = to_pcm16k_mono(u.wav)
    settings = AsrSettings(engine="faster-whisper")
    await mqtt_client.subscribe(AsrTextCaptured.subscribe_filter())
    async with run_service(AsrService, settings=settings, profile=coffee):
        await mqtt_client.publish(AsrStartListening(site_id=site_id, session_id="w1"))
        for start in range(0, len(pcm), 2048):
            await mqtt_client.publish(AudioSessionFrame(site_id=site_id, session_id="w1",
                                                        wav_bytes=pcm_to_wav(pcm[start : start + 2048])))
        await mqtt_client.publish(AsrStopListening(site_id=site_id, session_id="w1"))
        captured = await mqtt_client.expect(AsrTextCaptured, timeout=TIMEOUT, where=lambda m: m.session_id == "w1")
    intent, slots = sd.meaning_of(load_trained_profile(coffee), captured.text)
    assert sd.accepted(u, intent, slots), f"{captured.text!r} -> {intent} {slots}, labelled {u.intent} {u.slots}"
    assert 0 < captured.likelihood <= 1 and captured.seconds > 0


def test_a_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(EngineError) as raised:
        load_engine("asr", "faster-whisper", {"model": str(missing)}, profile_dir=tmp_path)
    assert str(missing) in raised.value.message and "engine_options.model" in raised.value.message
    assert raised.value.code == "whisper-model"


def test_a_model_dir_without_its_files_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty-model"
    empty.mkdir()
    (empty / "model.bin").write_bytes(b"")
    with pytest.raises(EngineError, match=r"lacks config\.json, tokenizer\.json") as raised:
        load_engine("asr", "faster-whisper", {"model": str(empty)}, profile_dir=tmp_path)
    assert str(empty) in raised.value.message


def test_a_corrupt_model_is_a_clear_error_when_trained(tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (broken / name).write_text("not a model")
    engine = FasterWhisperAsrEngine(EngineConfig(tmp_path, tmp_path / "work", {"model": str(broken)}))
    with pytest.raises(EngineError, match="could not load the model") as raised:
        engine.train(AsrTrainingData(vocabulary=["latte"], fsg_text=""))
    assert str(broken) in raised.value.message


async def test_the_service_names_a_missing_model_at_start_up(
    run_service: Callable[..., Any], coffee: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "gone"
    settings = AsrSettings(engine="faster-whisper", engine_options={"model": str(missing)})
    with pytest.raises(ConfigError, match=str(missing)):
        async with run_service(AsrService, settings=settings, profile=coffee):
            pass


def test_a_relative_model_path_is_in_the_profile(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as raised:
        FasterWhisperAsrEngine(EngineConfig(tmp_path, tmp_path / "work", {"model": "models/tiny"}))
    assert str(tmp_path / "models" / "tiny") in raised.value.message


def test_vocabulary_prompt_keeps_the_profile_words() -> None:
    prompt = vocabulary_prompt(["a", "Americano", "with", "skim", "milk", "skim", "café"])
    assert prompt == "Vocabulary: americano skim milk."
    assert vocabulary_prompt(["a", "the"]) == ""


def test_bundled_model_is_a_local_directory() -> None:
    path = bundled_model_path()
    assert path is not None and path.is_dir() and (path / "model.bin").is_file()

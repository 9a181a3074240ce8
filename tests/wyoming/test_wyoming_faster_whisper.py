"""The real wyoming-faster-whisper as a peer (issue 17): our Wyoming ASR engine (``asr.engine: "wyoming"``) in the
ASR service on a real broker, the server on loopback with the bundled tiny.en, and real coffee commands of
../shared/speech that our NLU must map to their labelled intent and slots. The first time our Wyoming client
engines meet a server we did not write: it writes sentences ("Can I have a light-roast 12-ounce coffee?"), which
the client now normalises into the templates' words. Accuracy is judged, never timing."""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import AudioSessionFrame
from hermes.wav import pcm_to_wav, to_pcm16k_mono
from services.asr.normalize import normalize_text
from services.asr.service import AsrService, AsrSettings
from services.asr.training import training_data_from_profile
from services.asr.whisper_engine import bundled_model_path, vocabulary_prompt
from services.nlu.training import load_trained_profile, train_profile
from tests.conftest import HermesTestClient
from tests.speech.voices import sd

from .wyoming_faster_whisper import wyoming_faster_whisper_server

# CI installs the test extra (scripts/install.sh --test): there a missing server or model fails instead.
pytestmark = [pytest.mark.timeout(600),
              pytest.mark.skipif((importlib.util.find_spec("wyoming_faster_whisper") is None
                                  or bundled_model_path() is None) and not os.environ.get("CI"),
                                 reason="wyoming-faster-whisper (the test extra) is not installed: "
                                        "bash scripts/install.sh --test")]

SAMPLE = 20  # every 15th of the 300 clean coffee commands (tests/asr/test_whisper_engine.py takes the same ones)
TIMEOUT = 60.0
TEMPLATE_WORDS = re.compile(r"[a-z' ]*")  # what the NLU's templates (and so its matcher) are written in


@pytest.fixture(scope="module")
def coffee(tmp_path_factory: pytest.TempPathFactory) -> Path:
    profile = sd.coffee_profile(tmp_path_factory.mktemp("wyoming-whisper") / "coffee")
    train_profile(profile)
    return profile


@pytest.fixture(scope="module")
def server_uri(coffee: Path) -> Iterator[str]:
    """The server with the profile's vocabulary as its ``--initial-prompt``: a Wyoming client cannot send a prompt
    (transcribe has none that this server reads), so the prompt our own engine builds is given where its user
    would give it, on the server's command line."""
    prompt = vocabulary_prompt(training_data_from_profile(coffee).vocabulary)
    assert "americano" in prompt
    with wyoming_faster_whisper_server("--initial-prompt", prompt) as server:
        yield server.uri


async def transcribe(client: HermesTestClient, site_id: str, session_id: str, wav: bytes) -> AsrTextCaptured:
    """One recording through the ASR service as the HTTP API sends it: session frames, then stopListening."""
    pcm = to_pcm16k_mono(wav)
    await client.publish(AsrStartListening(site_id=site_id, session_id=session_id, stop_on_silence=False))
    for start in range(0, len(pcm), 2048):
        await client.publish(AudioSessionFrame(site_id=site_id, session_id=session_id,
                                               wav_bytes=pcm_to_wav(pcm[start : start + 2048])))
    await client.publish(AsrStopListening(site_id=site_id, session_id=session_id))
    return await client.expect(AsrTextCaptured, timeout=TIMEOUT, where=lambda m: m.session_id == session_id)


async def test_real_coffee_commands_through_wyoming_faster_whisper_are_understood(
    run_service: Callable[..., Any], mqtt_client: HermesTestClient, coffee: Path, server_uri: str, site_id: str
) -> None:
    trained = load_trained_profile(coffee)
    chosen = sd.sample(sd.coffee_utterances(), SAMPLE)
    settings = AsrSettings(engine="wyoming", engine_options={"uri": server_uri})
    await mqtt_client.subscribe(AsrTextCaptured.subscribe_filter())
    right, lines = 0, []
    async with run_service(AsrService, settings=settings, profile=coffee):
        for index, u in enumerate(chosen):
            captured = await transcribe(mqtt_client, site_id, f"wfw-{index}", u.wav)
            # the templates' words: no capital, punctuation or digit left ("12-ounce" is "twelve ounce")
            assert TEMPLATE_WORDS.fullmatch(captured.text), captured.text
            intent, slots = sd.meaning_of(trained, captured.text)
            ok = sd.accepted(u, intent, slots)
            right += ok
            lines.append(f"{'ok ' if ok else 'NO '} {u.name}: {captured.text!r} -> {intent} {slots}")
    print(f"wyoming-faster-whisper tiny.en: {right}/{len(chosen)} accepted", *lines, sep="\n")
    # Measured on this sample: 17/20 (as our in-process faster-whisper engine); 13/20 with no prompt on the
    # server; 0/20 from its raw sentences, before the client normalised them. The floor is two under 17.
    assert right >= 15, f"only {right}/{len(chosen)} understood:\n" + "\n".join(lines)


async def test_normalize_false_keeps_the_servers_own_text(
    run_service: Callable[..., Any], mqtt_client: HermesTestClient, coffee: Path, server_uri: str, site_id: str
) -> None:
    """``normalize: false`` is the way out for a server whose text is already what the NLU wants: the sentence
    comes through as whisper wrote it (a sentence: a capital at least, which normalising would change)."""
    u = sd.sample(sd.coffee_utterances(), SAMPLE)[0]
    settings = AsrSettings(engine="wyoming", engine_options={"uri": server_uri, "normalize": False})
    await mqtt_client.subscribe(AsrTextCaptured.subscribe_filter())
    async with run_service(AsrService, settings=settings, profile=coffee):
        captured = await transcribe(mqtt_client, site_id, "wfw-raw", u.wav)
    assert captured.text and captured.text != normalize_text(captured.text), captured.text

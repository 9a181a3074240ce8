"""The bridge's MeshClient against a real Mosquitto and the real services: every operation, every error code,
and the two places its errors become HTTP statuses and Wyoming events."""

from __future__ import annotations

import ast
import asyncio
import shutil
import uuid
from pathlib import Path

import httpx
import pytest
from wyoming.error import Error
from wyoming.handle import NotHandled

from bridge.app import create_app
from bridge.http_util import MESH_ERROR_STATUS
from bridge.mesh_client import HANDLER
from bridge.mesh_error import MeshError, MeshErrorCode
from bridge.wyoming.errors import MESH_ERROR_SUFFIX, mesh_error_event
from hermes.asr import AsrStartListening
from hermes.audioserver import AudioFrame
from hermes.nlu import NluIntent, NluIntentNotRecognized, NluQuery
from hermes.status import ServiceState, ServiceStatus
from hermes.wav import pcm_to_wav, wav_chunks
from services.dialogue.service import DialogueService
from services.nlu.service import NluService
from services.wake.service import WakeService
from services.wake.settings import PocketsphinxWakeSettings, WakePhraseSettings, WakeSettings
from tests.conftest import make_common, running
from tests.wake.speech import build_stream, espeak_pcm, silence

from .harness import run_bridge
from .mesh import mesh
from .speech import spoken_pcm

REPO = Path(__file__).resolve().parents[2]


# ---- operations ---------------------------------------------------------------------------------------------
async def test_recognise_transcribe_and_speech_to_intent_share_one_session(mqtt_broker, profile_dir, mqtt_client,
                                                                         site_id):
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter(), NluQuery.subscribe_filter())
    async with mesh(mqtt_broker, profile_dir, asr=True, train=True) as bridge:
        client = bridge.mesh
        text = await client.recognize_text("what time is it", site_id)
        unknown = await client.recognize_text("purple elephants dance", site_id)
        heard = await client.transcribe(spoken_pcm("turn on the garage light"), site_id)
        both_heard, both = await client.speech_to_intent(spoken_pcm("what time is it"), site_id)
    assert isinstance(text.result, NluIntent) and text.result.intent.intent_name == "GetTime"
    assert isinstance(unknown.result, NluIntentNotRecognized)
    assert heard.captured.text == "turn on the garage light" and heard.wav_seconds > 1
    assert isinstance(both.result, NluIntent) and both.result.intent.intent_name == "GetTime"
    starts = mqtt_client.received(AsrStartListening, where=lambda m: m.site_id == site_id)
    assert starts and not any(s.send_audio_captured for s in starts)  # the bridge holds the audio itself
    query = mqtt_client.received(NluQuery, where=lambda m: m.input == "what time is it" and m.asr_confidence)[0]
    assert query.session_id == both_heard.captured.session_id == starts[-1].session_id == both.result.session_id


async def test_speak_play_and_train(mqtt_broker, profile_dir, site_id):
    async with mesh(mqtt_broker, profile_dir, asr=True, tts=True, output=True) as bridge:
        client = bridge.mesh
        wav = await client.speak("hello there", site_id)
        muted = await client.speak("hello again", f"{site_id}-nobody", answer_playback=True)
        await client.play(pcm_to_wav(b"\x00\x00" * 1600), site_id)
        train_id = uuid.uuid4().hex
        await client.train("nlu", {"sentences.ini": "[GetTime]\nwhat time is it\n"}, {}, "default",
                           train_id=train_id)
        await client.train("asr", {"sentences.ini": "[GetTime]\nwhat time is it\n"}, {}, "default",
                           train_id=train_id)
        after = await client.recognize_text("what time is it", site_id)
    assert wav[:4] == b"RIFF" and len(wav) > 1000
    assert muted[:4] == b"RIFF"  # a site without any audio output: the client answered playFinished itself
    assert isinstance(after.result, NluIntent)


async def test_listen_for_command_with_the_real_dialogue_manager(mqtt_broker, profile_dir, mqtt_client, site_id):
    async with mesh(mqtt_broker, profile_dir, asr=True, train=True, output=True) as bridge, \
            running(DialogueService(make_common(mqtt_broker, profile_dir))):
        command = asyncio.create_task(bridge.mesh.listen_for_command(site_id, timeout=30))
        await mqtt_client.expect(AsrStartListening, where=lambda m: m.site_id == site_id, timeout=30)
        for chunk in wav_chunks(spoken_pcm("what time is it"), 1024):
            await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=chunk))
        intent = await asyncio.wait_for(command, 60)
        silent = await bridge.mesh.listen_for_command(site_id, timeout=1.0)  # nobody speaks
    assert isinstance(intent, NluIntent) and intent.intent.intent_name == "GetTime"
    assert isinstance(silent, NluIntentNotRecognized)


async def test_detect_wake_words_with_the_real_wake_service(mqtt_broker, profile_dir, site_id):
    settings = WakeSettings(lang="en", pocketsphinx=PocketsphinxWakeSettings(
        phrases=[WakePhraseSettings(phrase="bumblebee", threshold=1e-30)]))
    stream = build_stream([silence(0.5), espeak_pcm("bumblebee"), silence(1.0)])
    async with run_bridge(mqtt_broker, profile_dir) as bridge, \
            running(WakeService(make_common(mqtt_broker, profile_dir), settings)):
        wake = await bridge.mesh.detect_wake_words(site_id)
        try:
            for chunk in wav_chunks(stream.pcm, 1024):
                await bridge.mesh.publish(AudioFrame(site_id=site_id, wav_bytes=chunk))
            detected = await asyncio.wait_for(wake.next(), 30)
        finally:
            wake.close()
    assert detected.site_id == site_id and detected.model_id == "bumblebee"


# ---- errors -------------------------------------------------------------------------------------------------
async def test_error_codes_offline_timeout_failed_and_rejected(mqtt_broker, profile_dir, site_id):
    async with run_bridge(mqtt_broker, profile_dir, reply_timeout=1.0) as bridge:
        client = bridge.mesh
        with pytest.raises(MeshError) as timeout:
            await client.recognize_text("what time is it", site_id)
        with pytest.raises(MeshError) as rejected:
            await client.play(b"not a wav", site_id)
        # an NLU without a model (its templates do not train) answers every query with hermes/error/nlu
        shutil.rmtree(profile_dir / "trained", ignore_errors=True)
        (profile_dir / "sentences.ini").write_text("[Broken]\nturn on (the light\n")
        async with running(NluService(make_common(mqtt_broker, profile_dir))):
            with pytest.raises(MeshError) as failed:
                await client.recognize_text("what time is it", site_id)
            with pytest.raises(MeshError) as bad_profile:
                await client.train("nlu", {"sentences.ini": "[Broken]\nturn on (the light\n"}, {}, "default")
        for _ in range(300):  # the NLU's last status says offline
            if client.registry.known("nlu") and not client.registry.online("nlu"):
                break
            await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        with pytest.raises(MeshError) as offline:
            await client.recognize_text("what time is it", site_id)
        elapsed = asyncio.get_running_loop().time() - started
    assert (timeout.value.code, timeout.value.service) == (MeshErrorCode.TIMEOUT, "nlu")
    assert "within 1 s" in timeout.value.message and "hermesh nlu" in timeout.value.message
    assert rejected.value.code == MeshErrorCode.REJECTED
    assert (failed.value.code, failed.value.service) == (MeshErrorCode.FAILED, "nlu")
    assert failed.value.message.startswith("nlu: ")
    assert bad_profile.value.code == MeshErrorCode.REJECTED and "line 2" in bad_profile.value.message
    assert (offline.value.code, offline.value.service) == (MeshErrorCode.OFFLINE, "nlu")
    assert "the nlu service is offline" in offline.value.message and elapsed < 1.0


async def test_a_wait_ends_at_once_when_its_service_goes_offline(mqtt_broker, profile_dir, mqtt_client, site_id):
    async with run_bridge(mqtt_broker, profile_dir, reply_timeout=20.0) as bridge:
        waiting = asyncio.create_task(bridge.mesh.recognize_text("what time is it", site_id))
        await mqtt_client.expect(NluQuery, where=lambda m: m.site_id == site_id)
        started = asyncio.get_running_loop().time()
        await mqtt_client.publish_raw(ServiceStatus.format_topic(service="nlu", instance="ghost"), ServiceStatus(
            service="nlu", instance="ghost", status=ServiceState.OFFLINE).payload(), retain=True)
        with pytest.raises(MeshError) as offline:
            await asyncio.wait_for(waiting, 5)
        elapsed = asyncio.get_running_loop().time() - started
        await mqtt_client.publish_raw(ServiceStatus.format_topic(service="nlu", instance="ghost"), b"", retain=True)
    assert offline.value.code == MeshErrorCode.OFFLINE and "went offline" in offline.value.message
    assert elapsed < 2.0


# ---- the two mappings ---------------------------------------------------------------------------------------
def test_every_code_has_one_status_and_one_wyoming_event() -> None:
    assert set(MESH_ERROR_STATUS) == set(MeshErrorCode) == set(MESH_ERROR_SUFFIX)
    assert MESH_ERROR_STATUS[MeshErrorCode.OFFLINE] == MESH_ERROR_STATUS[MeshErrorCode.TIMEOUT] == 503
    assert MESH_ERROR_STATUS[MeshErrorCode.FAILED] == 502
    for code in MeshErrorCode:
        event = mesh_error_event(MeshError(code, "nlu", "why"))
        assert Error.is_type(event.type)
        assert Error.from_event(event).code == f"nlu-{MESH_ERROR_SUFFIX[code]}"
        assert NotHandled.is_type(mesh_error_event(MeshError(code, HANDLER, "silent")).type)
    assert Error.from_event(mesh_error_event(MeshError(MeshErrorCode.TIMEOUT, "tts", "x"))).code == "tts-timeout"


async def test_http_answers_each_code_with_its_status(mqtt_broker, profile_dir) -> None:
    """The bridge's own app (middleware, handlers) with one more route that fails with each code."""
    async with run_bridge(mqtt_broker, profile_dir, reply_timeout=1.0) as bridge:
        app = create_app(bridge)

        async def fail(code: str) -> None:
            raise MeshError(MeshErrorCode(code), "nlu", f"failed with {code}")

        app.add_api_route("/test-mesh-error/{code}", fail, methods=["GET"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=bridge.base_url) as client:
            for code in MeshErrorCode:
                reply = await client.get(f"/test-mesh-error/{code.value}")
                assert reply.status_code == MESH_ERROR_STATUS[code], reply.text
                assert reply.text == f"failed with {code.value}"


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def test_mesh_errors_are_mapped_in_one_place_each() -> None:
    """HTTP: the handler in app.py (with the table in http_util.py); Wyoming: connection.py (errors.py's table)."""
    http_users = {p.relative_to(REPO).as_posix() for p in (REPO / "bridge").rglob("*.py")
                  if {"MESH_ERROR_STATUS", "mesh_error_response"} & _names_used(p)}
    wyoming_users = {p.relative_to(REPO).as_posix() for p in (REPO / "bridge").rglob("*.py")
                     if {"mesh_error_event", "MESH_ERROR_SUFFIX"} & _names_used(p)}
    assert http_users == {"bridge/http_util.py", "bridge/app.py"}
    assert wyoming_users == {"bridge/wyoming/errors.py", "bridge/wyoming/connection.py"}
    # and no route turns a mesh failure into a status of its own
    for path in (REPO / "bridge" / "routes").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = ast.unparse(node.type)
                if "MeshError" in caught:
                    assert not any(isinstance(n, ast.Raise) and "BridgeHTTPError" in ast.unparse(n)
                                   for n in ast.walk(node)), f"{path.name}: a MeshError becomes an HTTP error"


def test_the_client_is_the_bridges_only_request_reply_mechanism() -> None:
    """Waits for a reply (``expect``) live in bridge/mesh_client.py alone; the rest of the bridge asks it."""
    waiting = []
    for path in sorted((REPO / "bridge").rglob("*.py")):
        if path.name == "mesh_client.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "expect", "request", "fail_waits"):
                waiting.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not waiting, waiting

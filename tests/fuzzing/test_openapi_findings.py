"""What the OpenAPI fuzzer found, each as a plain request against the real mesh (so a regression is named)."""

from __future__ import annotations

import asyncio

import pytest

from services.dialogue.service import DialogueService
from services.tts.service import TtsService
from tests.bridge.harness import http, run_bridge
from tests.conftest import make_common, running

CONTROL_AND_NON_CHARACTERS = ["a\u0085b", "x\ufffe", "\ufdd0"]  # (ASCII controls never get past httpx)


@pytest.mark.parametrize("topic", CONTROL_AND_NON_CHARACTERS)
async def test_a_topic_the_broker_would_refuse_is_a_400_and_the_bridge_stays_connected(mqtt_broker, profile_dir,
                                                                                       mqtt_client, topic):
    await mqtt_client.subscribe("hermesh/test/#")
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        published = await client.post(f"/api/mqtt/hermesh/test/{topic}", content=b"{}")
        polled = await client.get(f"/api/mqtt/hermesh/test/{topic}")
        connections = bridge.connections
        after = await client.post("/api/mqtt/hermesh/test/ok", content=b'{"ok": true}')
        async with asyncio.timeout(10):
            while not mqtt_client._inbox:
                await asyncio.sleep(0.01)
    assert published.status_code == 400 and "U+" in published.text, published.text
    assert polled.status_code == 400 and "U+" in polled.text, polled.text
    assert after.status_code == 200 and bridge.connections == connections  # never dropped by the broker
    assert [t for t, _ in mqtt_client._inbox] == ["hermesh/test/ok"]


@pytest.mark.parametrize("session", ["a/b", "s#", "x\u0085"])
async def test_a_session_id_that_cannot_be_a_topic_level_is_a_400(mqtt_broker, profile_dir, session):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        listen = await client.post("/api/listen-for-command", params={"sessionId": session, "timeout": "1"})
        speak = await client.post("/api/text-to-speech", params={"sessionId": session}, content="hello")
    for reply in (listen, speak):
        assert reply.status_code == 400 and "session id" in reply.text, reply.text


async def test_an_unknown_voice_is_a_400_naming_the_known_ones(mqtt_broker, profile_dir):
    async with running(TtsService(make_common(mqtt_broker, profile_dir))), \
            run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        reply = await client.post("/api/text-to-speech", params={"voice": "\u00ffJA", "play": "false"},
                                  content="hello")
        regional = await client.post("/api/text-to-speech", params={"voice": "en-GB", "play": "false"},
                                     content="hello")
    assert reply.status_code == 400 and "no voice" in reply.text and "/api/tts-voices" in reply.text, reply.text
    assert regional.status_code == 200, regional.text


async def test_listen_for_command_with_nobody_speaking_is_not_recognized(mqtt_broker, profile_dir):
    """The dialogue is running; the client's timeout passes without a command: nothing was recognised."""
    async with running(DialogueService(make_common(mqtt_broker, profile_dir))), \
            run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        reply = await client.post("/api/listen-for-command", params={"timeout": "0.5"},
                                  headers={"Accept": "application/json"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["intent"]["name"] == ""


async def test_a_wake_word_id_that_cannot_be_a_topic_level_is_a_400(mqtt_broker, profile_dir):
    """modelId becomes hermes/hotword/<modelId>/detected (found by bench/fuzz.py: a 500)."""
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        replies = [await client.post("/api/listen-for-command", params={"modelId": bad, "timeout": "1"})
                   for bad in ("a/b", "w#", "x\u0096")]
    for reply in replies:
        assert reply.status_code == 400 and "modelId" in reply.text, reply.text


@pytest.mark.parametrize("path", ["/api/lookup", "/api/pronounce"])
async def test_a_nul_character_for_espeak_is_a_400(mqtt_broker, profile_dir, path):
    """The text goes into espeak-ng's argument list, which cannot hold a NUL (found by bench/fuzz.py: a 500)."""
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        reply = await client.post(path, content=b"E\x01u\x00x", params={"download": "true"},
                                  headers={"Content-Type": "text/plain"})
    assert reply.status_code == 400 and "NUL" in reply.text, reply.text


async def test_custom_words_the_asr_would_refuse_are_a_400_and_lookups_keep_working(mqtt_broker, profile_dir):
    """A custom_words.txt with unknown phones, once written, failed every later lookup with a 502."""
    from services.asr.service import AsrService, AsrSettings

    async with running(AsrService(make_common(mqtt_broker, profile_dir), AsrSettings())), \
            run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        written = await client.post("/api/custom-words", content='[true, {"a": 1}]',
                                    headers={"Content-Type": "text/plain"})
        good = await client.post("/api/custom-words", content="hermesh HH ER M EH SH",
                                 headers={"Content-Type": "text/plain"})
        lookup = await client.post("/api/lookup", content="hermesh", headers={"Content-Type": "text/plain"})
    assert written.status_code == 400 and "line 1" in written.text, written.text
    assert good.status_code == 200, good.text
    assert lookup.status_code == 200 and lookup.json()["pronunciations"] == ["HH ER M EH SH"], lookup.text

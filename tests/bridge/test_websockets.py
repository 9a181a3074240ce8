"""Websocket frame shapes compared field by field, and the raw MQTT sockets (binary never sent, never fatal)."""

from __future__ import annotations

import asyncio
import json
import logging

from websockets.exceptions import ConnectionClosed

from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.audioserver import AudioFrame, AudioPlayBytes
from hermes.dialogue import DialogueSessionStarted
from hermes.hotword import HotwordDetected
from hermes.nlu import Intent, NluIntent, NluIntentNotRecognized, Slot, SlotRange
from hermes.rhasspy_json import intent_to_rhasspy
from hermes.wav import pcm_to_wav, wav_chunks
from services.dialogue.service import DialogueService
from tests.conftest import make_common, running

from .harness import http, next_json, run_bridge, wait_subscribers, websocket
from .mesh import mesh
from .speech import spoken_pcm

INTENT_EXTRAS = ("siteId", "sessionId", "customData", "wakewordId", "lang")


def sample_intent(site: str) -> NluIntent:
    slot = Slot(entity="color", value={"kind": "Unknown", "value": "blue"}, slot_name="color", raw_value="BLUE",
                confidence=1.0, range=SlotRange(start=21, end=25, raw_start=21, raw_end=25))
    return NluIntent(input="set bedroom light to blue", intent=Intent(intent_name="ChangeLightColor",
                     confidence_score=0.9), site_id=site, id="i1", slots=[slot], session_id="s1",
                     custom_data="cd", raw_input="set bedroom light to BLUE", wakeword_id="porcupine", lang="en")


async def test_event_frames_have_the_exact_rhasspy_shapes(mqtt_broker, profile_dir, mqtt_client, site_id):
    async with run_bridge(mqtt_broker, profile_dir) as bridge:
        async with websocket(bridge, "/api/events/intent") as intents, \
                websocket(bridge, "/api/events/text") as texts, websocket(bridge, "/api/events/wake") as wakes:
            await wait_subscribers(bridge, "intent")
            await wait_subscribers(bridge, "text")
            await wait_subscribers(bridge, "wake")
            intent = sample_intent(site_id)
            await mqtt_client.publish(intent)
            await mqtt_client.publish(NluIntentNotRecognized(input="blah", site_id=site_id, id="n1",
                                                             session_id="s2", custom_data="x"))
            await mqtt_client.publish(AsrTextCaptured(text="hello world", likelihood=0.8, seconds=1.2,
                                                      site_id=site_id, session_id="s3", wakewordId="w", lang="en"))
            await mqtt_client.publish(HotwordDetected(wakeword_id="porcupine", model_id="porcupine.ppn",
                                                      site_id=site_id, lang="de"))
            recognised = await next_json(intents)
            not_recognised = await next_json(intents)
            text = await next_json(texts)
            wake = await next_json(wakes)
    expected = intent_to_rhasspy(intent)
    expected.update({"siteId": site_id, "sessionId": "s1", "customData": "cd", "wakewordId": "porcupine",
                     "lang": "en"})
    assert recognised == expected
    assert list(recognised)[-5:] == list(INTENT_EXTRAS)
    assert recognised["entities"][0] == {"entity": "color", "value": "blue",
                                         "value_details": {"kind": "Unknown", "value": "blue"}, "raw_value": "BLUE",
                                         "start": 21, "end": 25, "raw_start": 21, "raw_end": 25}
    assert recognised["raw_text"] == "set bedroom light to BLUE" and recognised["wakeword_id"] == "porcupine"
    assert not_recognised == {"text": "blah", "raw_text": "blah", "tokens": ["blah"], "raw_tokens": ["blah"],
                              "intent": {"name": "", "confidence": 0.0}, "entities": [], "slots": {},
                              "siteId": site_id, "sessionId": "s2", "customData": "x", "wakewordId": None,
                              "lang": None}
    assert text == {"text": "hello world", "siteId": site_id, "sessionId": "s3", "wakewordId": "w", "lang": "en"}
    assert wake == {"wakewordId": "porcupine", "siteId": site_id, "modelId": "porcupine.ppn", "lang": "de"}


async def test_event_sockets_see_only_the_bridges_sites(mqtt_broker, profile_dir, mqtt_client, site_id):
    async with run_bridge(mqtt_broker, profile_dir, site_ids=[site_id]) as bridge:
        async with websocket(bridge, "/api/events/intent") as intents:
            await wait_subscribers(bridge, "intent")
            await mqtt_client.publish(sample_intent(site_id + "-elsewhere"))
            await mqtt_client.publish(sample_intent(site_id))
            frame = await next_json(intents)
    assert frame["siteId"] == site_id


async def test_log_socket_streams_text_lines(mqtt_broker, profile_dir, caplog):
    caplog.set_level(logging.INFO, logger="hermesh")  # the socket shows what the process logs at its level
    async with run_bridge(mqtt_broker, profile_dir) as bridge:
        async with websocket(bridge, "/api/events/log") as log, http(bridge) as client:
            await wait_subscribers(bridge, "log")
            await client.post("/api/restart")
            line = await asyncio.wait_for(log.recv(), 10)
    assert isinstance(line, str) and "settings reloaded" in line and "hermesh.bridge" in line


async def test_mqtt_socket_subscribe_publish_and_binary_messages(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(f"{site_id}/out/#")
    async with run_bridge(mqtt_broker, profile_dir) as bridge, websocket(bridge, "/api/mqtt") as socket:
        await socket.send(json.dumps({"type": "subscribe", "topic": f"{site_id}/in/#"}))
        await socket.send(json.dumps({"type": "subscribe", "topic": f"{site_id}/in/+"}))  # overlaps: one frame
        await socket.send("not json at all")
        await socket.send(json.dumps({"type": "unsubscribe-everything"}))
        await socket.send(b"\x00binary client frame")
        await socket.send(json.dumps({"type": "publish", "topic": f"{site_id}/out/x", "payload": {"a": [1, 2]}}))
        await socket.send(json.dumps({"type": "publish", "topic": f"{site_id}/out/s", "payload": "text"}))
        for _ in range(500):
            if len([t for t, _ in mqtt_client._inbox if t.startswith(f"{site_id}/out/")]) == 2:
                break
            await asyncio.sleep(0.01)
        await mqtt_client.publish_raw(f"{site_id}/in/audio", pcm_to_wav(b"\x00\x01" * 800))
        await mqtt_client.publish_raw(f"{site_id}/in/json", b'{"hello": "world"}')
        frame = await next_json(socket)
        await mqtt_client.publish_raw(f"{site_id}/in/number", b"42")
        second = await next_json(socket)
    assert frame == {"topic": f"{site_id}/in/json", "payload": {"hello": "world"}}
    assert second == {"topic": f"{site_id}/in/number", "payload": 42}
    out = {t: p for t, p in mqtt_client._inbox if t.startswith(f"{site_id}/out/")}
    assert out == {f"{site_id}/out/x": b'{"a": [1, 2]}', f"{site_id}/out/s": b'"text"'}


async def test_single_topic_socket_survives_binary_messages(mqtt_broker, profile_dir, mqtt_client, site_id):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, \
            websocket(bridge, f"/api/mqtt/hermes/audioServer/{site_id}/%23") as socket:
        for chunk in wav_chunks(b"\x01\x00" * 4096, 1024):
            await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=chunk))
        await mqtt_client.publish(AudioPlayBytes(site_id=site_id, request_id="r", wav_bytes=pcm_to_wav(b"")))
        await mqtt_client.publish_raw(f"hermes/audioServer/{site_id}/playFinished", b'{"id": "r"}')
        frame = await next_json(socket)
        await socket.ping()
    assert frame == {"topic": f"hermes/audioServer/{site_id}/playFinished", "payload": {"id": "r"}}


async def test_http_mqtt_publish_and_long_poll(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(f"{site_id}/#")
    async with run_bridge(mqtt_broker, profile_dir, mqtt_poll_timeout=1.0) as bridge, http(bridge) as client:
        binary = pcm_to_wav(b"\x00\x00" * 10)
        posted = await client.post(f"/api/mqtt/{site_id}/raw", content=binary)
        poll = asyncio.create_task(client.get(f"/api/mqtt/{site_id}/%2B/value"))
        for _ in range(500):  # the long-poll subscribes when its request arrives
            if any(f.startswith(site_id) for f in bridge.tap.confirmed):
                break
            await asyncio.sleep(0.01)
        await mqtt_client.publish_raw(f"{site_id}/a/value", binary)  # skipped: not JSON
        await mqtt_client.publish_raw(f"{site_id}/b/value", b'{"x": 1}')
        polled = await poll
        timed_out = await client.get(f"/api/mqtt/{site_id}/never")
        wildcard = await client.post(f"/api/mqtt/{site_id}/%23", content=b"{}")
    assert posted.text == f"Published {len(binary)} byte(s) to {site_id}/raw"
    assert (f"{site_id}/raw", binary) in mqtt_client._inbox
    assert polled.json() == {"topic": f"{site_id}/b/value", "payload": {"x": 1}}
    assert timed_out.status_code == 504
    assert wildcard.status_code == 400


async def test_listen_for_command_with_the_real_dialogue_manager(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter(), DialogueSessionStarted.subscribe_filter(),
                                HotwordDetected.subscribe_filter())
    async with mesh(mqtt_broker, profile_dir, asr=True, train=True, output=True) as bridge, \
            running(DialogueService(make_common(mqtt_broker, profile_dir))), http(bridge) as client, \
            websocket(bridge, "/api/events/wake") as wakes, websocket(bridge, "/api/events/intent") as intents:
        await wait_subscribers(bridge, "wake")
        await wait_subscribers(bridge, "intent")
        command = asyncio.create_task(client.post("/api/listen-for-command", params={
            "siteId": site_id, "nohass": "true", "entity": "room", "value": "hall"}))
        start = await mqtt_client.expect(AsrStartListening, where=lambda m: m.site_id == site_id, timeout=30)
        for chunk in wav_chunks(spoken_pcm("what time is it"), 1024):
            await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=chunk))
        reply = await asyncio.wait_for(command, 60)
        wake = await next_json(wakes)
        event = await next_json(intents)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["intent"]["name"] == "GetTime"
    assert data["slots"]["room"] == "hall"
    assert [e["entity"] for e in data["entities"]].count("room") == 1  # custom entity, added once by the NLU
    assert "speech_confidence" not in data and "recognize_seconds" not in data
    assert data["wakeword_id"] == "default"
    assert wake == {"wakewordId": "default", "siteId": site_id, "modelId": "default", "lang": None}
    assert event["sessionId"] == start.session_id and event["intent"]["name"] == "GetTime"


async def test_closed_event_socket_is_unsubscribed(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge:
        async with websocket(bridge, "/api/events/intent"):
            await wait_subscribers(bridge, "intent")
        for _ in range(500):
            if bridge.hub.count("intent") == 0:
                break
            await asyncio.sleep(0.01)
        assert bridge.hub.count("intent") == 0
    try:
        async with websocket(bridge, "/api/events/intent"):
            raise AssertionError("the bridge is stopped")
    except (OSError, ConnectionClosed):
        pass


async def test_listen_for_command_honours_the_intent_filter(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter())
    async with mesh(mqtt_broker, profile_dir, asr=True, train=True, output=True) as bridge, \
            running(DialogueService(make_common(mqtt_broker, profile_dir))), http(bridge) as client:
        command = asyncio.create_task(client.post("/api/listen-for-command", params={
            "siteId": site_id, "intentFilter": "GetTemperature", "outputFormat": "hermes", "timeout": "40"}))
        start = await mqtt_client.expect(AsrStartListening, where=lambda m: m.site_id == site_id, timeout=30)
        for chunk in wav_chunks(spoken_pcm("what time is it"), 1024):
            await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=chunk))
        reply = await asyncio.wait_for(command, 60)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["value"]["sessionId"] == start.session_id
    if data["type"] == "intent":
        assert data["value"]["intent"]["intentName"] == "GetTemperature"
    else:
        assert data["type"] == "intentNotRecognized"

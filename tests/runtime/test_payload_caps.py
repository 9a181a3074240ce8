"""Payload caps: a service drops, counts and reports a payload over its topic's cap and keeps serving; the broker
refuses what no service accepts; mosquitto/*.conf and the tests' broker agree with services/runtime/payload_caps."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from hermes.asr import AsrTrain
from hermes.audioserver import AudioFrame, AudioPlayBytes, AudioSessionFrame
from hermes.errors import HotwordError, NluError
from hermes.hotword import GetHotwords, Hotwords
from hermes.nlu import NluIntent, NluQuery
from hermes.wav import pcm_to_wav
from services.nlu.service import NluService
from services.nlu.settings import NluSettings
from services.runtime.payload_caps import (
    BROKER_MAX_PACKET_SIZE,
    BROKER_MESSAGE_SIZE_LIMIT,
    PAYLOAD_CAPS,
    PayloadKind,
    cap_of_topic,
)
from services.wake.service import WakeService
from tests.conftest import MosquittoBroker

REPO = Path(__file__).resolve().parents[2]
JSON_CAP = PAYLOAD_CAPS[PayloadKind.JSON]
FRAME_CAP = PAYLOAD_CAPS[PayloadKind.AUDIO_FRAME]


def _setting(text: str, key: str) -> int | None:
    found = re.findall(rf"^\s*{key}\s+(\d+)\s*$", text, re.MULTILINE)
    assert len(found) <= 1, f"{key} is set {len(found)} times"
    return int(found[0]) if found else None


def test_every_broker_config_refuses_what_no_service_accepts(tmp_path: Path) -> None:
    confs = sorted((REPO / "mosquitto").glob("*.conf"))
    assert [c.name for c in confs] == ["docker.conf", "mosquitto.conf", "production.conf"]
    test_broker = MosquittoBroker(tmp_path)  # writes its config without starting
    for conf in [*confs, test_broker.conf]:
        text = conf.read_text()
        assert _setting(text, "message_size_limit") == BROKER_MESSAGE_SIZE_LIMIT, conf
        assert _setting(text, "max_packet_size") == BROKER_MAX_PACKET_SIZE, conf
    assert BROKER_MESSAGE_SIZE_LIMIT == max(PAYLOAD_CAPS.values())


def test_each_topic_gets_the_cap_of_its_kind() -> None:
    assert cap_of_topic(AudioFrame(site_id="k").topic()) == (PayloadKind.AUDIO_FRAME, FRAME_CAP)
    assert cap_of_topic(AudioSessionFrame(site_id="k", session_id="s").topic())[0] == PayloadKind.AUDIO_FRAME
    assert cap_of_topic(AudioPlayBytes(site_id="k", request_id="r").topic())[0] == PayloadKind.SOUND
    assert cap_of_topic(AsrTrain(site_id="k").topic())[0] == PayloadKind.TRAINING
    assert cap_of_topic(NluQuery(input="x").topic()) == (PayloadKind.JSON, JSON_CAP)
    assert cap_of_topic("some/app/topic") == (None, BROKER_MESSAGE_SIZE_LIMIT)


async def test_oversized_json_is_dropped_counted_reported_and_the_next_query_answered(
        run_service, mqtt_client, site_id, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="hermesh")
    await mqtt_client.subscribe(NluError.subscribe_filter(), NluIntent.subscribe_filter())
    # A well-formed query whose text alone is over the cap: parsed, it would be recognised.
    huge = NluQuery(input="what time is it " * (JSON_CAP // 16 + 1), site_id=site_id, id="huge").payload()
    assert len(huge) > JSON_CAP
    async with run_service(NluService, settings=NluSettings()) as nlu:
        for _ in range(3):
            await mqtt_client.publish_raw(NluQuery.TOPIC, huge)
        error = await mqtt_client.expect(NluError, where=lambda m: m.context == NluQuery.TOPIC)
        await mqtt_client.publish(NluQuery(input="what time is it", site_id=site_id, id="normal"))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.id == "normal")
        assert nlu.oversize.dropped == {"JSON": 3}
    assert intent.intent.intent_name == "GetTime"
    assert mqtt_client.received(NluIntent, where=lambda m: m.id == "huge") == []
    assert f"dropped a payload of {len(huge):,} bytes on hermes/nlu/query" in error.error
    assert f"JSON messages are capped at {JSON_CAP:,} bytes" in error.error
    # Three dropped, reported once: a flood of big payloads does not flood the log or the error topic.
    warnings = [r for r in caplog.records if "dropped a payload" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert len(mqtt_client.received(NluError, where=lambda m: m.context == NluQuery.TOPIC)) == 1


async def test_oversized_audio_frame_is_dropped_and_the_wake_service_keeps_serving(
        run_service, mqtt_client, site_id) -> None:
    await mqtt_client.subscribe(HotwordError.subscribe_filter(), Hotwords.subscribe_filter())
    frame = pcm_to_wav(b"\0\0" * (FRAME_CAP // 2))  # a valid WAV, just too long for one frame of a stream
    async with run_service(WakeService) as wake:
        await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=frame))
        error = await mqtt_client.expect(HotwordError, where=lambda m: m.site_id == site_id)
        await mqtt_client.publish(GetHotwords(site_id=site_id, id="after"))
        await mqtt_client.expect(Hotwords, where=lambda m: m.id == "after")
        assert wake.oversize.dropped == {"audio frame": 1}
        assert site_id not in wake._sites  # dropped before any state was made for the site
    assert "audio frame messages are capped" in error.error


async def test_the_broker_drops_a_message_over_its_limit_and_delivers_the_next(mqtt_client, site_id) -> None:
    topic = AudioPlayBytes(site_id=site_id, request_id="big").topic()
    small = AudioPlayBytes(site_id=site_id, request_id="small")
    await mqtt_client.subscribe(AudioPlayBytes.subscribe_filter(site_id=site_id))
    await mqtt_client.publish_raw(topic, b"\0" * (BROKER_MESSAGE_SIZE_LIMIT + 1))
    await mqtt_client.publish(small)
    await mqtt_client.expect(AudioPlayBytes, where=lambda m: m.request_id == "small")
    # The broker keeps one publisher's order: had it forwarded "big", it would have arrived before "small".
    assert [m.request_id for m in mqtt_client.received(AudioPlayBytes)] == ["small"]

"""The shared service runtime against a real Mosquitto: dispatch, errors, site filtering, reconnects, status."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hermes.audioserver import AudioFrame
from hermes.errors import NluError
from hermes.nlu import NluIntentNotRecognized, NluQuery
from hermes.status import ServiceStatus
from hermes.tts import TtsSayFinished
from hermes.wav import pcm_to_wav
from services.runtime import ServiceTimeout

from .echo_service import EchoService, EchoSettings

REPO = Path(__file__).resolve().parents[2]


async def test_handler_reply_is_published(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(NluIntentNotRecognized.subscribe_filter())
    async with run_service(EchoService):
        await mqtt_client.publish(NluQuery(input="hello there", site_id=site_id, id="q1", session_id="s1"))
        reply = await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "q1")
    assert (reply.input, reply.site_id, reply.session_id) == ("hello there", site_id, "s1")


async def test_handler_errors_become_one_hermes_error_and_service_continues(run_service, mqtt_client, site_id, caplog):
    await mqtt_client.subscribe(NluError.subscribe_filter(), NluIntentNotRecognized.subscribe_filter())
    async with run_service(EchoService):
        await mqtt_client.publish(NluQuery(input="fail", site_id=site_id, session_id="s-fail"))
        error = await mqtt_client.expect(NluError, where=lambda m: m.session_id == "s-fail")
        assert error.error == "the echo engine refused 'fail'"
        assert (error.site_id, error.context) == (site_id, "hermes/nlu/query")

        await mqtt_client.publish(NluQuery(input="crash", site_id=site_id, session_id="s-crash"))
        crash = await mqtt_client.expect(NluError, where=lambda m: m.session_id == "s-crash")
        assert crash.error.startswith("ZeroDivisionError")

        await mqtt_client.publish(NluQuery(input="still alive", site_id=site_id, id="after"))
        await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "after")
    assert len(mqtt_client.received(NluError, where=lambda m: m.session_id == "s-fail")) == 1


async def test_malformed_payloads_are_logged_and_dropped(run_service, mqtt_client, site_id, caplog):
    rng = random.Random(7)
    garbage = [b"", b"not json", b"[1,2,3]", b'{"input": 5}', b'{"siteId": "x"}', b"\xff\xfe\x00",
               b'{"input": "x", "intentFilter": "nope"}', json.dumps({"input": None}).encode()]
    garbage += [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))) for _ in range(20)]
    await mqtt_client.subscribe(NluIntentNotRecognized.subscribe_filter())
    async with run_service(EchoService) as service:
        for payload in garbage:
            await mqtt_client.publish_raw("hermes/nlu/query", payload)
            await mqtt_client.publish_raw(f"hermes/audioServer/{site_id}/audioFrame", payload)
        await mqtt_client.publish(NluQuery(input="valid", site_id=site_id, id="valid"))
        await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "valid")
        assert service._online.is_set()
    warnings = [r for r in caplog.records if "dropped a malformed message on hermes/nlu/query" in r.getMessage()]
    assert len(warnings) >= 8
    assert all("malformed payload" in r.getMessage() for r in warnings)


async def test_site_filter_and_per_site_order(run_service, mqtt_client, site_id):
    other = site_id + "-other"
    await mqtt_client.subscribe(NluIntentNotRecognized.subscribe_filter())
    async with run_service(EchoService, site_ids=[site_id]) as service:
        await mqtt_client.publish(NluQuery(input="not mine", site_id=other, id="other"))
        for i in range(20):
            await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=pcm_to_wav(b"\0\0" * (i + 1))))
            await mqtt_client.publish(AudioFrame(site_id=other, wav_bytes=pcm_to_wav(b"\0\0")))
        await mqtt_client.publish(NluQuery(input="mine", site_id=site_id, id="mine"))
        await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "mine")
        assert service.frames[site_id] == [44 + 2 * (i + 1) for i in range(20)]  # in order
        assert other not in service.frames
    assert not mqtt_client.received(NluIntentNotRecognized, where=lambda m: m.id == "other")


async def test_a_slow_site_does_not_block_another(run_service, mqtt_client, site_id):
    slow, fast = site_id + "-slow", site_id + "-fast"
    await mqtt_client.subscribe(NluIntentNotRecognized.subscribe_filter())
    async with run_service(EchoService, settings=EchoSettings(slow_site=slow)):
        await mqtt_client.publish(NluQuery(input="slow", site_id=slow, id="slow"))
        await mqtt_client.publish(NluQuery(input="fast", site_id=fast, id="fast"))
        await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "fast", timeout=1.5)
        assert not mqtt_client.received(NluIntentNotRecognized, where=lambda m: m.id == "slow")
        await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "slow", timeout=5)


async def test_request_times_out_naming_the_missing_service(run_service):
    async with run_service(EchoService) as service:
        with pytest.raises(ServiceTimeout, match="is the tts service running"):
            await service.request(NluQuery(input="x"), TtsSayFinished, timeout=0.3, provider="tts")


async def test_reconnects_after_broker_restart(run_service, mqtt_broker, site_id):
    from tests.conftest import HermesTestClient

    async with run_service(EchoService) as service:
        assert service.connections == 1
        mqtt_broker.stop()
        await asyncio.sleep(0.5)
        mqtt_broker.start()
        await asyncio.wait_for(_until(lambda: service.connections == 2 and service._online.is_set()), 10)
        async with HermesTestClient(mqtt_broker) as client:
            await client.subscribe(ServiceStatus.subscribe_filter(), NluIntentNotRecognized.subscribe_filter())
            status = await client.expect(ServiceStatus, where=lambda s: s.service == "echo")
            assert status.status == "online"
            await client.publish(NluQuery(input="after restart", site_id=site_id, id="r"))
            await client.expect(NluIntentNotRecognized, where=lambda m: m.id == "r")


async def test_status_online_then_offline_by_last_will(mqtt_broker, mqtt_client, profile_dir):
    await mqtt_client.subscribe(ServiceStatus.subscribe_filter())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.echo_service", mqtt_broker.host, str(mqtt_broker.port), str(profile_dir)],
        cwd=REPO, env=env,
    )
    try:
        online = await mqtt_client.expect(ServiceStatus, where=lambda s: s.pid == process.pid and s.status == "online",
                                          timeout=20)
        assert online.service == "echo"
        process.send_signal(signal.SIGKILL)  # no clean goodbye: the broker must publish the last will
        offline = await mqtt_client.expect(
            ServiceStatus, where=lambda s: s.pid == process.pid and s.status == "offline", timeout=20)
        assert offline.topic() == online.topic()
    finally:
        process.kill()
        process.wait()


async def test_clean_stop_publishes_offline(run_service, mqtt_client):
    await mqtt_client.subscribe(ServiceStatus.subscribe_filter())
    async with run_service(EchoService):
        await mqtt_client.expect(ServiceStatus, where=lambda s: s.status == "online")
    await mqtt_client.expect(ServiceStatus, where=lambda s: s.status == "offline", timeout=5)


async def _until(predicate, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    while not predicate():
        await asyncio.sleep(interval)


async def test_worker_pool_shares_requests_without_duplicates(mqtt_broker, mqtt_client, profile_dir):
    from services.config import MqttSettings
    from tests.conftest import make_common, running

    def worker(instance: str) -> EchoService:
        common = make_common(mqtt_broker, profile_dir, instance=instance)
        common.mqtt = MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port, shared_group="echo-pool")
        return EchoService(common, EchoSettings())

    await mqtt_client.subscribe(NluIntentNotRecognized.subscribe_filter())
    first, second = worker("echo-1"), worker("echo-2")
    async with running(first), running(second):
        assert all(f.startswith("$share/echo-pool/") for f in first._filters() if "nlu/query" in f)
        for i in range(60):
            await mqtt_client.publish(NluQuery(input=f"q{i}", id=f"pool-{i}", site_id=f"room-{i % 6}"))
        for i in range(60):
            await mqtt_client.expect(NluIntentNotRecognized, where=lambda m, i=i: m.id == f"pool-{i}")
        await asyncio.sleep(0.3)  # a duplicate answer would arrive now
    answers = mqtt_client.received(NluIntentNotRecognized, where=lambda m: (m.id or "").startswith("pool-"))
    assert sorted(a.id for a in answers) == sorted(f"pool-{i}" for i in range(60))  # each exactly once
    assert first.answered + second.answered == 60
    assert first.answered > 0 and second.answered > 0


async def test_overlapping_filters_never_double_a_message(run_service, mqtt_client, site_id):
    """A raw listener on a wider filter than a handler's: each message reaches each of them exactly once."""
    seen: list[str] = []
    async with run_service(EchoService, site_ids=[site_id]) as service:
        await service.add_raw_listener("hermes/audioServer/#", lambda topic, payload: seen.append(topic))
        await service.add_raw_listener(f"hermes/audioServer/{site_id}/+", lambda topic, payload: seen.append("narrow"))
        for i in range(10):
            await mqtt_client.publish(AudioFrame(site_id=site_id, wav_bytes=pcm_to_wav(b"\0\0" * (i + 1))))
        await mqtt_client.publish(NluQuery(input="sync", site_id=site_id, id="sync"))
        await mqtt_client.subscribe(NluIntentNotRecognized.subscribe_filter())
        await mqtt_client.publish(NluQuery(input="sync", site_id=site_id, id="sync2"))
        await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "sync2")
        await asyncio.sleep(0.2)
        assert service.frames[site_id] == [44 + 2 * (i + 1) for i in range(10)]  # once each, in order
        assert seen.count("narrow") == 10
        assert len([t for t in seen if t.endswith("/audioFrame")]) == 10


async def test_a_publish_made_while_connecting_waits_for_the_subscriptions(mqtt_broker, profile_dir):
    """The bridge serves HTTP from its start: a request published as soon as the client connected, before its
    reply's filter was subscribed, got no reply (a training posted then waited out its 30 s timeout). Publishing
    waits until every filter known at connection time is subscribed: a message the service sends to a topic it
    listens on, published while 300 other filters are being subscribed, comes back to it."""
    from tests.conftest import make_common, running

    service = EchoService(make_common(mqtt_broker, profile_dir), None)
    heard: list[str] = []
    for index in range(300):  # subscribed one by one at connection time, in sorted order, before the last one
        await service.add_raw_listener(f"aaa/filler/{index}", lambda topic, payload: None)
    await service.add_raw_listener("zzz/last", lambda topic, payload: heard.append(topic))
    early = asyncio.create_task(service.publish_raw("zzz/last", b"sent while connecting"))
    async with running(service):
        await asyncio.wait_for(early, 10)
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
    assert heard == ["zzz/last"]

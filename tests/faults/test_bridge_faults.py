"""In-flight HTTP requests when the service they wait on, or the broker, dies by ``kill -9`` (issue 19, §4).

The bridge runs in-process; the NLU is a real process, paused (SIGSTOP) so the requests are surely inside it,
then killed. The 503 must come from the last will, long before the 30 s reply timeout: the bound checked here
is loose (10 s) so a loaded 2-core machine does not make it flaky; bench/chaos.py measures the real figure.
"""

from __future__ import annotations

import asyncio
import time

from hermes.asr import AsrStartListening
from services.dialogue.service import DialogueService
from services.dialogue.settings import DialogueSettings
from tests.bridge.harness import http, run_bridge

from .processes import ServiceProcess, settle

IN_FLIGHT = 5
LOOSE_BOUND = 10.0  # the issue asks for 2 s; well under the 30 s timeout is what a test can hold on any box


async def until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def recognize(client, text: str = "what time is it"):  # type: ignore[no-untyped-def]
    return await client.post("/api/text-to-intent", content=text, headers={"Accept": "application/json"})


async def test_in_flight_requests_answer_503_naming_the_killed_service_then_work_after_restart(
        mqtt_broker, mqtt_client, profile_dir, tmp_path):
    nlu = ServiceProcess("nlu", mqtt_broker, profile_dir, tmp_path)
    try:
        await nlu.start(mqtt_client)
        async with run_bridge(mqtt_broker, profile_dir, reply_timeout=30.0) as bridge, http(bridge) as client:
            assert (await recognize(client)).status_code == 200
            nlu.pause()
            requests = [asyncio.create_task(recognize(client)) for _ in range(IN_FLIGHT)]
            await settle()
            assert not any(r.done() for r in requests)
            killed = time.monotonic()
            nlu.kill()
            replies = await asyncio.gather(*requests)
            assert time.monotonic() - killed < LOOSE_BOUND
            assert [r.status_code for r in replies] == [503] * IN_FLIGHT
            assert all("the nlu service went offline" in r.text for r in replies), replies[0].text
            # while it is down, a new request fails at once, naming it too
            down = await recognize(client)
            assert down.status_code == 503 and "nlu" in down.text

            await nlu.start(mqtt_client)  # what `hermesh up` does after a crash
            await until(lambda: bridge.registry.online("nlu"))  # the test client may hear it first
            assert (await recognize(client)).status_code == 200
    finally:
        nlu.stop()


async def test_a_pool_answers_503_only_when_its_last_worker_is_gone(mqtt_broker, mqtt_client, profile_dir, tmp_path):
    workers = [ServiceProcess("nlu", mqtt_broker, profile_dir, tmp_path, "--pool", "nlu-pool", "--instance", f"w{i}")
               for i in range(2)]
    try:
        for worker in workers:
            await worker.start(mqtt_client)
        async with run_bridge(mqtt_broker, profile_dir, reply_timeout=30.0) as bridge, http(bridge) as client:
            for worker in workers:
                worker.pause()
            request = asyncio.create_task(recognize(client))
            await settle()
            await workers[0].killed_offline(mqtt_client)
            await asyncio.sleep(0.5)
            assert not request.done()  # one worker is still online: the service is not missing
            killed = time.monotonic()
            workers[1].kill()
            reply = await request
            assert time.monotonic() - killed < LOOSE_BOUND
            assert reply.status_code == 503 and "nlu" in reply.text
    finally:
        for worker in workers:
            worker.stop()


async def test_a_request_in_flight_when_one_worker_of_its_pool_dies_answers_503_soon(
        mqtt_broker, mqtt_client, profile_dir, tmp_path):
    """The broker gave the request to one of the two workers and nobody can tell which: when one dies, the
    request gets ``worker_lost_timeout`` more seconds to be answered by the other, then 503 (retry), not 30 s.
    It is not sent again: if the live worker had it too, the intent would fire twice."""
    workers = [ServiceProcess("nlu", mqtt_broker, profile_dir, tmp_path, "--pool", "nlu-pool", "--instance", f"w{i}")
               for i in range(2)]
    try:
        for worker in workers:
            await worker.start(mqtt_client)
        async with run_bridge(mqtt_broker, profile_dir, reply_timeout=30.0, worker_lost_timeout=1.0) as bridge, \
                http(bridge) as client:
            for worker in workers:
                worker.pause()  # whichever has it cannot answer
            request = asyncio.create_task(recognize(client))
            await settle()
            killed = time.monotonic()
            await workers[0].killed_offline(mqtt_client)
            reply = await request
            assert 0.9 < time.monotonic() - killed < LOOSE_BOUND
            assert reply.status_code == 503
            assert "worker 'w0' went offline" in reply.text and "retry" in reply.text, reply.text
            workers[1].resume()
            assert bridge.registry.online("nlu")
            again = await recognize(client)  # the pool still serves
            assert again.status_code == 200, again.text
    finally:
        for worker in workers:
            worker.stop()


async def test_in_flight_requests_answer_503_when_the_broker_dies_and_work_once_it_is_back(
        mqtt_broker, mqtt_client, profile_dir, tmp_path):
    nlu = ServiceProcess("nlu", mqtt_broker, profile_dir, tmp_path)
    try:
        await nlu.start(mqtt_client)
        async with run_bridge(mqtt_broker, profile_dir, reply_timeout=30.0) as bridge, http(bridge) as client:
            nlu.pause()
            requests = [asyncio.create_task(recognize(client)) for _ in range(IN_FLIGHT)]
            await settle()
            killed = time.monotonic()
            mqtt_broker.stop()  # SIGKILL
            replies = await asyncio.gather(*requests)
            assert time.monotonic() - killed < LOOSE_BOUND
            assert [r.status_code for r in replies] == [503] * IN_FLIGHT
            assert all("lost the MQTT broker" in r.text for r in replies), replies[0].text

            mqtt_broker.start()
            nlu.resume()
            # Both reconnect by themselves and subscribe again. A request sent meanwhile waits until the NLU
            # has said online again, instead of being published to no one and waiting out the 30 s.
            started = time.monotonic()
            reply = await recognize(client)
            assert reply.status_code == 200, reply.text
            assert time.monotonic() - started < LOOSE_BOUND
    finally:
        nlu.stop()


async def test_listen_for_command_answers_503_when_the_asr_dies_under_its_session(
        run_service, mqtt_broker, mqtt_client, profile_dir, tmp_path, site_id):
    asr = ServiceProcess("asr", mqtt_broker, profile_dir, tmp_path)
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter())
    try:
        await asr.start(mqtt_client)
        async with run_service(DialogueService, settings=DialogueSettings(sounds_enabled=False)), \
                run_bridge(mqtt_broker, profile_dir, reply_timeout=30.0) as bridge, http(bridge) as client:
            request = asyncio.create_task(client.post("/api/listen-for-command", params={"siteId": site_id}))
            await mqtt_client.expect(AsrStartListening, where=lambda m: m.site_id == site_id)
            killed = time.monotonic()
            asr.kill()
            reply = await request
            assert time.monotonic() - killed < LOOSE_BOUND
            assert reply.status_code == 503
            assert "the asr service went offline while the session was listening" in reply.text, reply.text
    finally:
        asr.stop()

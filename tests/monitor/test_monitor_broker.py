"""`hermesh monitor` and `attach()` over a real Mosquitto, with a real service and scripted Hermes messages."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from hermes.dialogue import DialogueSessionEnded
from hermes.hotword import HotwordDetected
from hermes.status import ServiceState, ServiceStatus
from services.monitor.attach import attach
from services.monitor.metrics import render_prometheus
from services.monitor.observer import MeshObserver
from services.runtime import HermesService, handles
from tests.conftest import HermesTestClient, MosquittoBroker

from .session_script import voice_command

REPO = Path(__file__).resolve().parents[2]
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"


class ProbeService(HermesService[Any]):
    """A real service on the shared runtime (online status, last will), with no handlers of its own."""

    name = "monitor-probe"


class HandlerProbe(HermesService[Any]):
    """A service with a handler of its own, like the bridge: attaching must not make it see messages twice."""

    name = "monitor-probe"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.detections: list[HotwordDetected] = []
        self.ended = asyncio.Event()

    @handles(HotwordDetected)
    async def on_detected(self, detected: HotwordDetected) -> None:
        self.detections.append(detected)

    @handles(DialogueSessionEnded)
    async def on_ended(self, ended: DialogueSessionEnded) -> None:
        self.ended.set()  # one site, one queue: every detection copy was handled before this


class SignallingObserver(MeshObserver):
    """The pure observer plus an event for the test to await (fed in the test's event loop)."""

    def __init__(self) -> None:
        super().__init__()
        self.ended = asyncio.Event()

    def feed(self, topic: str, payload: bytes, timestamp: float) -> None:
        super().feed(topic, payload, timestamp)
        if topic == DialogueSessionEnded.TOPIC:
            self.ended.set()


async def start_monitor(broker: MosquittoBroker, *args: str) -> asyncio.subprocess.Process:
    """`hermesh monitor ...` as a process; returns once it has subscribed (its 'subscribed' line on stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "monitor", "--mqtt-host", broker.host, "--mqtt-port", str(broker.port),
        *args, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HERMESH_PROFILE": str(REPO / "services" / "profile_default")},
    )
    assert process.stderr is not None
    while True:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        if not line:
            raise AssertionError(f"hermesh monitor exited early: {await process.stdout.read()!r}")  # type: ignore[union-attr]
        if b"subscribed" in line:
            return process


async def finish(process: asyncio.subprocess.Process) -> str:
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def publish_script(client: HermesTestClient, site: str) -> None:
    for topic, payload, _ in voice_command(site).messages:
        await client.publish_raw(topic, payload)


async def dead_service_with_last_will(broker: MosquittoBroker, client: HermesTestClient, site: str) -> None:
    """A client that dies without disconnecting: the broker publishes its retained 'offline' last will."""
    will = ServiceStatus(service="wake", instance=site, status=ServiceState.OFFLINE, site_ids=[site])
    process = await asyncio.create_subprocess_exec(
        MOSQUITTO_SUB, "-h", broker.host, "-p", str(broker.port), "-t", f"probe/{site}",
        "--will-topic", will.topic(), "--will-payload", will.payload().decode(), "--will-retain", "--will-qos", "1",
        stdout=asyncio.subprocess.PIPE,
    )
    await client.subscribe(will.topic())
    try:
        # It is connected once it receives what we publish; retry until then (it may still be connecting).
        assert process.stdout is not None
        while True:
            await client.publish_raw(f"probe/{site}", b"ping")
            try:
                await asyncio.wait_for(process.stdout.readline(), 0.2)
                break
            except TimeoutError:
                continue
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await process.wait()
    await client.expect(ServiceStatus, where=lambda s: s.instance == site and s.status == ServiceState.OFFLINE)


async def test_monitor_once_json_shows_services_and_a_session(
    mqtt_broker: MosquittoBroker, mqtt_client: HermesTestClient, run_service: Callable[..., Any], site_id: str
) -> None:
    await dead_service_with_last_will(mqtt_broker, mqtt_client, site_id)
    async with run_service(ProbeService, site_ids=[site_id], instance=f"probe-{site_id}"):
        process = await start_monitor(mqtt_broker, "--once", "--json", "--sessions", "1", "--wait", "60")
        await publish_script(mqtt_client, site_id)
        snapshot = json.loads(await finish(process))
    services = {(s["service"], s["instance"]): s for s in snapshot["services"]}
    assert services[("monitor-probe", f"probe-{site_id}")]["status"] == "online"
    assert services[("monitor-probe", f"probe-{site_id}")]["site_ids"] == [site_id]
    assert services[("wake", site_id)]["status"] == "offline"  # from the last will
    [session] = [s for s in snapshot["sessions"]["finished"] if s["site_id"] == site_id]
    assert session["reason"] == "nominal" and session["intent"] == "ChangeLightState"
    assert list(session["turns"][0]["times"]) == ["wake", "started", "listening", "captured", "intent", "handled",
                                                  "spoken"]
    assert set(session["latencies"]) == {"started", "listening", "captured", "intent", "handled", "spoken"}
    assert all(value >= 0 for value in session["latencies"].values())
    assert snapshot["sessions"]["ended"] == {"nominal": 1}
    assert snapshot["messages"]["hermes/audioServer/+/audioFrame"]["count"] == 23
    assert snapshot["broker"]["version"].startswith("mosquitto")
    # $SYS figures are the broker's, refreshed every sys_interval (retained, so present from the first moment)
    assert isinstance(snapshot["broker"]["clients_connected"], float)
    assert "messages_received_per_second" in snapshot["broker"]


async def test_monitor_once_text_view(
    mqtt_broker: MosquittoBroker, mqtt_client: HermesTestClient, run_service: Callable[..., Any], site_id: str
) -> None:
    async with run_service(ProbeService, site_ids=[site_id], instance=f"probe-{site_id}"):
        process = await start_monitor(mqtt_broker, "--once", "--sessions", "1", "--wait", "60")
        await publish_script(mqtt_client, site_id)
        text = await finish(process)
    assert f"broker {mqtt_broker.host}:{mqtt_broker.port}" in text
    assert "SERVICES  1 online, 0 offline" in text
    assert f"monitor-probe  probe-{site_id}  online" in text
    row = next(line for line in text.splitlines() if line.strip().startswith(site_id))
    assert "ChangeLightState" in row and row.rstrip().endswith("nominal")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_live_view_redraws_until_interrupted(mqtt_broker: MosquittoBroker) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "monitor", "--mqtt-host", mqtt_broker.host,
        "--mqtt-port", str(mqtt_broker.port), "--interval", "0.2", cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        # Ctrl-C as in a terminal: a test run started in the background of a shell without job control (as
        # `cmd &` in a script) inherits SIGINT ignored, and the monitor would never hear it (two CI runs hung here)
        preexec_fn=_default_sigint,
    )
    assert process.stdout is not None
    frames = 0
    try:
        while frames < 2:  # the first frame right after subscribing, the next one at the first refresh
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, (await process.stderr.read()).decode()  # type: ignore[union-attr]
            frames += line.startswith(b"Hermesh monitor - broker")
    finally:
        process.send_signal(signal.SIGINT)
        try:  # reading all it writes, so it cannot block on a full pipe while it stops
            await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()
            _, err = await process.communicate()
            raise AssertionError(f"hermesh monitor did not stop on SIGINT: {err.decode()[-3000:]}") from None
    assert process.returncode == 0


async def test_attach_feeds_an_observer_for_metrics(
    run_service: Callable[..., Any], mqtt_client: HermesTestClient, site_id: str
) -> None:
    async with run_service(HandlerProbe, site_ids=[site_id], instance=f"probe-{site_id}") as service:
        observer = await attach(service, SignallingObserver())
        await publish_script(mqtt_client, site_id)
        await asyncio.wait_for(observer.ended.wait(), 30)
        await asyncio.wait_for(service.ended.wait(), 30)
        text = render_prometheus(observer)
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for family in text_string_to_metric_families(text) for s in family.samples}
    assert values[("hermesh_sessions_ended_total", (("reason", "nominal"),))] == 1
    assert values[("hermesh_service_up", (("instance", f"probe-{site_id}"), ("service", "monitor-probe")))] == 1
    assert values[("hermesh_session_stage_seconds_count", (("stage", "spoken"),))] == 1
    assert ("hermesh_broker_clients_connected", ()) in values  # $SYS is retained: there from the subscription on
    assert values[("hermesh_messages_total", (("family", "hermes/audioServer/+/audioFrame"),))] == 23
    assert values[("hermesh_messages_total", (("family", "hermes/hotword/+/detected"),))] == 1
    assert len(service.detections) == 1  # the service's own handler: exactly once


async def test_observer_follows_the_real_dialogue_manager(
    run_service: Callable[..., Any], mqtt_client: HermesTestClient, site_id: str
) -> None:
    """The real dialogue service runs the session; the test plays wake word, ASR, NLU, handler and TTS."""
    from hermes.asr import AsrStartListening, AsrTextCaptured
    from hermes.dialogue import DialogueEndSession
    from hermes.hotword import HotwordDetected
    from hermes.nlu import Intent, NluIntent, NluQuery
    from hermes.tts import TtsSay, TtsSayFinished
    from services.dialogue.service import DialogueService
    from services.dialogue.settings import DialogueSettings

    for cls in (AsrStartListening, NluQuery, TtsSay, DialogueSessionEnded):
        await mqtt_client.subscribe(cls.subscribe_filter())
    async with run_service(ProbeService, instance=f"probe-{site_id}") as probe, \
            run_service(DialogueService, settings=DialogueSettings(sounds_enabled=False), site_ids=[site_id]):
        observer = await attach(probe, SignallingObserver())
        await mqtt_client.publish(HotwordDetected(wakeword_id="porcupine", model_id="porcupine", site_id=site_id))
        listening = await mqtt_client.expect(AsrStartListening, where=lambda m: m.site_id == site_id)
        sid = listening.session_id
        assert sid is not None
        await mqtt_client.publish(AsrTextCaptured(text="turn on the lamp", likelihood=1, seconds=1, site_id=site_id,
                                                  session_id=sid))
        query = await mqtt_client.expect(NluQuery, where=lambda m: m.session_id == sid)
        await mqtt_client.publish(NluIntent(input=query.input, intent=Intent(intent_name="LampOn", confidence_score=1),
                                            site_id=site_id, session_id=sid, custom_data=query.custom_data))
        await mqtt_client.publish(DialogueEndSession(session_id=sid, text="done"))
        say = await mqtt_client.expect(TtsSay, where=lambda m: m.session_id == sid)
        await mqtt_client.publish(TtsSayFinished(site_id=site_id, id=say.id, session_id=sid))
        await asyncio.wait_for(observer.ended.wait(), 30)
    [session] = [s for s in observer.snapshot(0)["sessions"]["finished"] if s["site_id"] == site_id]
    assert session["session_id"] == sid and session["reason"] == "nominal" and session["intent"] == "LampOn"
    assert list(session["turns"][0]["times"]) == ["wake", "started", "listening", "captured", "intent", "handled",
                                                  "spoken"]

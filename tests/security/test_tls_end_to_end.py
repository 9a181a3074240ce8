"""The hermesh MQTT flags (username/password/TLS CA/client certificate) against a real TLS listener.

The broker runs mosquitto/production.conf with a CA generated for the test session by openssl.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from hermes.audioserver import AudioPlayBytes, AudioPlayFinished
from hermes.wav import pcm_to_wav

from .conftest import MONITOR_PASSWORD, MONITOR_USER, SATELLITES, Secured, production_broker
from .pki import Pki
from .probe import Probe
from .production_broker import REPO, ProductionBroker


@pytest.fixture
def cert_broker(tmp_path: Path, pki: Pki) -> Iterator[Secured]:
    """production.conf with `require_certificate true`: TLS clients need a certificate signed by the CA."""
    with production_broker(tmp_path, pki, require_certificate=True) as broker:
        yield broker


async def wait_status(probe: Probe, topic: str, state: str, timeout: float = 60.0) -> dict[str, object]:
    """The first status message on ``topic`` that says ``state`` (services take a few seconds to import)."""

    def says(received: str, payload: bytes) -> bool:
        return received == topic and bool(payload) and json.loads(payload).get("status") == state

    _, payload = await probe.wait(says, timeout, f"{state} status on {topic}")
    return json.loads(payload)  # type: ignore[no-any-return]


class ServiceProcess:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.stopping = False

    def stop(self) -> None:
        """SIGTERM, once: a second one could arrive after the service removed its handler and kill it."""
        if not self.stopping and self.process.poll() is None:
            self.stopping = True
            self.process.terminate()


@contextlib.contextmanager
def service_process(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[ServiceProcess]:
    """A hermesh service process, its stderr in ``log``; stopped with SIGTERM at the end (it must exit 0)."""
    with log.open("wb") as stderr:
        service = ServiceProcess(subprocess.Popen(argv, cwd=REPO, stderr=stderr, env={**os.environ, **(env or {})}))
    try:
        yield service
    finally:
        service.stop()
        try:
            service.process.wait(30)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait(10)
            raise AssertionError(f"the service did not stop on SIGTERM:\n{log.read_text()[-3000:]}") from None
    assert service.process.returncode == 0, log.read_text()[-3000:]


def satellite_argv(profile: Path, broker: ProductionBroker, *extra: str) -> list[str]:
    """`hermesh audio-output` for the kitchen satellite, over TLS with a client certificate."""
    return [
        sys.executable, "-m", "services.cli", "audio-output", "--profile", str(profile), "--site-id", "kitchen",
        "--instance", "kitchen", "--mqtt-host", "localhost", "--mqtt-port", str(broker.tls_port), "--mqtt-tls",
        "--mqtt-ca-file", str(broker.pki.ca_cert), "--mqtt-cert-file", str(broker.pki.client_cert),
        "--mqtt-key-file", str(broker.pki.client_key), "--mqtt-username", "kitchen", *extra,
    ]


async def satellite_round_trip(secured: Secured, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """The satellite service comes online, answers a playBytes for its room, and leaves with an offline status."""
    status_topic = "hermesh/status/audio-output/kitchen"
    play = AudioPlayBytes(site_id="kitchen", request_id="tls-1", wav_bytes=pcm_to_wav(b"\x00\x00" * 160))
    async with Probe(secured.base()) as base:
        await base.subscribe(status_topic, AudioPlayFinished.subscribe_filter(site_id="kitchen"))
        with service_process(argv, log, env) as service:
            try:
                status = await wait_status(base, status_topic, "online")
            except AssertionError:
                raise AssertionError(f"the satellite never came online over TLS:\n{log.read_text()[-3000:]}\n"
                                     f"broker log:\n{secured.broker.log()[-3000:]}") from None
            assert status["siteIds"] == ["kitchen"]  # the wire is camelCase
            await base.publish(play.topic(), play.payload())
            finished = await base.wait_topic(AudioPlayFinished.format_topic(site_id="kitchen"), timeout=30)
            assert json.loads(finished)["id"] == "tls-1"
            service.stop()
            await wait_status(base, status_topic, "offline")  # published by the service as it leaves


async def test_satellite_service_process_with_tls_client_certificate_and_password(
    cert_broker: Secured, profile_dir: Path
) -> None:
    argv = satellite_argv(profile_dir, cert_broker.broker, "--mqtt-password", SATELLITES["kitchen"])
    await satellite_round_trip(cert_broker, argv, profile_dir / "service.log")


async def test_password_via_environment_like_hermesh_up(cert_broker: Secured, profile_dir: Path) -> None:
    """`hermesh up` hands the password to its children in HERMESH_MQTT_PASSWORD, never on the command line."""
    argv = satellite_argv(profile_dir, cert_broker.broker)
    await satellite_round_trip(cert_broker, argv, profile_dir / "service.log",
                               {"HERMESH_MQTT_PASSWORD": SATELLITES["kitchen"]})


async def test_client_certificate_is_required_when_configured(cert_broker: Secured) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with Probe(cert_broker.satellite("kitchen")):
            pass
    async with Probe(cert_broker.satellite("kitchen", client_cert=True)) as kitchen:
        await kitchen.publish("hermes/audioServer/kitchen/audioFrame", b"RIFF")


async def test_a_certificate_from_another_ca_is_not_trusted(secured: Secured) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with Probe(secured.satellite("kitchen", ca=secured.broker.pki.other_ca_cert)):
            pass
    async with Probe(secured.satellite("kitchen")):
        pass  # the right CA works


async def test_websockets_listener_with_tls_and_acl(secured: Secured) -> None:
    broker = secured.broker
    assert broker.ws_port is not None
    ws_settings = secured.satellite("kitchen").model_copy(update={"port": broker.ws_port})
    async with Probe(secured.base()) as base, Probe(ws_settings, transport="websockets") as kitchen:
        await base.subscribe("hermes/audioServer/#")
        await kitchen.subscribe("hermes/audioServer/hall/audioFrame", "hermes/audioServer/kitchen/playFinished")
        await base.publish("hermes/audioServer/hall/audioFrame", b"RIFF")
        await kitchen.publish("hermes/audioServer/hall/playFinished", b"{}")  # not its room: dropped
        await base.publish("hermes/audioServer/kitchen/playFinished", b"{}")
        await kitchen.wait_topic("hermes/audioServer/kitchen/playFinished")
        assert "hermes/audioServer/hall/audioFrame" not in kitchen.topics()
        assert "hermes/audioServer/hall/playFinished" not in base.topics()


async def test_monitor_over_tls_as_the_read_only_monitor_user(secured: Secured) -> None:
    """`hermesh monitor` with the TLS flags, logged in as hermesh-monitor: sees sessions and $SYS, publishes nothing."""
    from tests.monitor.session_script import voice_command

    broker = secured.broker
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "monitor", "--once", "--json", "--sessions", "1", "--wait", "60",
        "--mqtt-host", "localhost", "--mqtt-port", str(broker.tls_port), "--mqtt-tls",
        "--mqtt-ca-file", str(broker.pki.ca_cert), "--mqtt-username", MONITOR_USER,
        "--mqtt-password", MONITOR_PASSWORD, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    while b"subscribed" not in (line := await asyncio.wait_for(process.stderr.readline(), 60)):
        assert line, (await process.stdout.read()).decode()  # type: ignore[union-attr]
    async with Probe(secured.base()) as base:
        for topic, payload, _ in voice_command("kitchen").messages:
            await base.publish(topic, payload)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    snapshot = json.loads(stdout)
    assert snapshot["sessions"]["ended"] == {"nominal": 1}
    assert snapshot["broker"]["version"].startswith("mosquitto")  # $SYS is readable for this user

    # Read-only: a retained message it publishes is never stored. Mosquitto handles one connection's packets in
    # order, so when the base's retained marker arrives after subscribing, the monitor's would have come first.
    async with Probe(secured.base()) as base:
        await base.publish("hermes/marker", b"base", retain=True)
    async with Probe(broker.tls(MONITOR_USER, MONITOR_PASSWORD)) as monitor:
        await monitor.publish("hermes/tts/say", b'{"text":"intruder"}', retain=True)
        await monitor.subscribe("hermes/tts/say", "hermes/marker")
        await monitor.wait_topic("hermes/marker")
        assert "hermes/tts/say" not in monitor.topics()

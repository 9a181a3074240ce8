"""Two rooms on their own hosts, one base: the whole mesh across network namespaces, as `hermesh up` runs it.

The base namespace runs a password+ACL Mosquitto and `hermesh up` with asr, nlu, dialogue and tts. Each room
namespace runs `hermesh up --satellite` (audio-input, audio-output, wake) with its own credentials, against its
own virtual sound card. espeak-ng speech is played into both rooms' microphones at once; each room's command is
recognised and the reply comes out of that room's speaker. Cutting one room's link ends only that room's session,
and its services come back online when the link returns.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import numpy as np
import pytest

from hermes.asr import AsrStartListening
from hermes.dialogue import DialogueEndSession, DialogueSessionEnded
from hermes.nlu import NluIntent
from hermes.status import ServiceStatus
from hermes.tts import TtsSay, TtsSayFinished
from services.config import MqttSettings
from services.nlu.training import train_profile
from services.profile import ensure_profile
from services.security.command import add_satellite_files
from services.security.files import read_text, write_preserving
from services.security.passwd import upsert_password
from tests.asr.speech import noise_only, utterance
from tests.conftest import MOSQUITTO, HermesTestClient, wait_port
from tests.pulse import PulseAudio

from .netns import Hosts, namespaces_possible

REPO = Path(__file__).resolve().parents[2]
ROOMS = {"kitchen": ("what time is it", "GetTime"), "office": ("set the bedroom light to red", "ChangeLightColor")}
PASSWORDS = {"hermesh": "base-secret", "kitchen": "kitchen-secret", "office": "office-secret"}
BASE_SERVICES = ["asr", "nlu", "dialogue", "tts"]
ROOM_SERVICES = ["audio-input", "audio-output", "wake"]
SESSION_TIMEOUT = 12.0

pytestmark = pytest.mark.timeout(420)


def spoken_command(command: str, seed: int) -> bytes:
    """Wake word, a pause for the wake beep and the start of listening, then the command."""
    return utterance("bumblebee", seed=seed) + noise_only(1.5, seed=seed + 1) + utterance(command, seed=seed + 2)


def broker_files(directory: Path) -> Path:
    passwd, acl = directory / "passwd", directory / "acl"
    shutil.copy(REPO / "mosquitto" / "acl.example", acl)
    write_preserving(passwd, upsert_password(read_text(passwd), "hermesh", PASSWORDS["hermesh"], str(passwd)).text)
    for room in ROOMS:
        add_satellite_files(passwd, acl, room, room, password=PASSWORDS[room])
    conf = directory / "mosquitto.conf"
    conf.write_text(
        "per_listener_settings false\nallow_anonymous false\n"
        f"password_file {passwd}\nacl_file {acl}\npersistence false\n"
        "listener 1883 0.0.0.0\n" f"log_dest file {directory / 'broker.log'}\n"
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    return conf


def base_profile(directory: Path) -> Path:
    ensure_profile(directory)
    settings = json.loads((directory / "profile.json").read_text())
    settings["dialogue"] = {"session_timeout": SESSION_TIMEOUT}
    (directory / "profile.json").write_text(json.dumps(settings))
    train_profile(directory)
    return directory


def room_profile(directory: Path) -> Path:
    ensure_profile(directory)
    settings = json.loads((directory / "profile.json").read_text())
    # A short keepalive, so a dead link is noticed (and the broker's last will fires) within seconds.
    settings["mqtt"] = {"keepalive": 5}
    (directory / "profile.json").write_text(json.dumps(settings))
    return directory


class Mesh:
    """The processes of the test, each in its namespace, all stopped at the end."""

    def __init__(self, hosts: Hosts, root: Path) -> None:
        self.hosts = hosts
        self.root = root
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.pulse: dict[str, PulseAudio] = {}

    def start(self, name: str, namespace: str, argv: list[str], env: dict[str, str]) -> None:
        log = (self.root / f"{name}.log").open("wb")
        process = subprocess.Popen(self.hosts.command(namespace, argv), stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **env}, start_new_session=True)
        self.processes.append((name, process))

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in sorted(self.root.glob("*.log")))

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in reversed(self.processes):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        for pulse in self.pulse.values():
            pulse.stop()


@contextmanager
def mesh_on_hosts(tmp: Path) -> Iterator[Mesh]:
    reason = namespaces_possible()
    if reason is not None:
        pytest.skip(reason)
    hosts = Hosts(prefix=f"hm{os.getpid() % 1000}")
    mesh = Mesh(hosts, tmp)
    try:
        hosts.create(list(ROOMS))
        conf = broker_files(tmp)
        mesh.start("broker", hosts.base, [MOSQUITTO, "-c", str(conf)], {})
        up = [sys.executable, "-m", "services.cli", "up", "--log-level", "INFO"]
        mesh.start("base", hosts.base, [*up, "--profile", str(base_profile(tmp / "base")), "--mqtt-username", "hermesh",
                                        *[arg for name in BASE_SERVICES for arg in ("--only", name)]],
                   {"HERMESH_MQTT_PASSWORD": PASSWORDS["hermesh"], "PYTHONPATH": str(REPO)})
        for room in ROOMS:
            pulse = PulseAudio(Path(tempfile.mkdtemp(prefix=f"hermesh-{room}-pulse-")))
            pulse.start()
            mesh.pulse[room] = pulse
            mesh.start(room, hosts.rooms[room],
                       [*up, "--satellite", "--site-id", room, "--profile", str(room_profile(tmp / room)),
                        "--mqtt-host", hosts.room_address[room], "--mqtt-username", room],
                       {"HERMESH_MQTT_PASSWORD": PASSWORDS[room], "PULSE_SERVER": pulse.server, "PYTHONPATH": str(REPO)})
        yield mesh
    finally:
        mesh.stop()
        hosts.remove()


@asynccontextmanager
async def observer(hosts: Hosts) -> AsyncIterator[HermesTestClient]:
    """pytest's own view of the base broker, as the base user (from the root namespace)."""

    class Broker:  # what HermesTestClient needs from a broker
        def mqtt(self) -> MqttSettings:
            return MqttSettings(host=hosts.base_address, port=1883, username="hermesh", password=PASSWORDS["hermesh"])

    deadline = time.monotonic() + 20
    while True:
        try:
            wait_port(1883, timeout=1, host=hosts.base_address)
            break
        except TimeoutError:
            if time.monotonic() > deadline:
                raise
    async with HermesTestClient(Broker()) as client:  # type: ignore[arg-type]
        yield client


def online(client: HermesTestClient) -> set[tuple[str, str]]:
    latest: dict[tuple[str, str], str] = {}
    for status in client.received(ServiceStatus):
        latest[(status.service, status.instance)] = status.status
    return {key for key, state in latest.items() if state == "online"}


async def wait_for(predicate, timeout: float, what: str, mesh: Mesh) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} within {timeout} s\n{mesh.logs()}")
        await asyncio.sleep(0.2)


def loud(pcm: bytes, threshold: float = 500.0) -> float:
    """Seconds of the recording whose 20 ms windows are louder than ``threshold`` RMS."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 640], dtype="<i2").astype(np.float64).reshape(-1, 320)
    return float((np.sqrt((samples**2).mean(axis=1)) > threshold).sum() * 0.02)


async def test_two_rooms_at_once_then_one_link_cut(tmp_path):
    with mesh_on_hosts(tmp_path) as mesh:
        hosts = mesh.hosts
        async with observer(hosts) as client:
            await client.subscribe(ServiceStatus.subscribe_filter(), NluIntent.subscribe_filter(),
                                   AsrStartListening.subscribe_filter(), DialogueSessionEnded.subscribe_filter(),
                                   TtsSay.subscribe_filter(), TtsSayFinished.subscribe_filter(),
                                   "hermes/audioServer/+/playBytes/+")
            await wait_for(lambda: {s for s, _ in online(client)} >= set(BASE_SERVICES)
                           and all((s, room) in online(client) for room in ROOMS for s in ROOM_SERVICES),
                           120, "base services and both rooms' services online", mesh)

            # ---- both rooms speak at once -------------------------------------------------------------------
            recorders = {room: mesh.pulse[room].record_speaker().__enter__() for room in ROOMS}
            try:
                players = [mesh.pulse[room].speak_into_microphone(spoken_command(text, seed=10 * i))
                           for i, (room, (text, _)) in enumerate(ROOMS.items())]
                intents: dict[str, NluIntent] = {}
                for room, (_, intent_name) in ROOMS.items():
                    intents[room] = await client.expect(NluIntent, where=lambda m, r=room: m.site_id == r, timeout=60)
                    assert intents[room].intent_name == intent_name, intents[room]
                for room, intent in intents.items():
                    await client.publish(DialogueEndSession(session_id=intent.session_id, text=f"Answer for the {room}"))
                for room, intent in intents.items():
                    ended = await client.expect(DialogueSessionEnded, where=lambda m, s=intent.session_id: m.session_id == s,
                                                timeout=60)
                    assert ended.termination.reason == "nominal" and ended.site_id == room
                    say = await client.expect(TtsSay, where=lambda m, s=intent.session_id: m.session_id == s, timeout=5)
                    assert say.site_id == room and say.text == f"Answer for the {room}"
                    await client.expect(TtsSayFinished, where=lambda m, i=say.id: m.id == i, timeout=30)
                for player in players:
                    player.wait(30)
                # Each room's speaker played its beeps and its own answer; no playBytes crossed rooms.
                for room in ROOMS:
                    played_sites = {t.split("/")[2] for t, _ in client._inbox if "/playBytes/" in t}
                    assert played_sites <= set(ROOMS)
                    heard = loud(recorders[room].pcm())
                    assert heard >= 1.0, f"{room}'s speaker played only {heard:.2f} s of sound"
            finally:
                for recorder in recorders.values():
                    recorder.__exit__(None, None, None)

            # ---- the kitchen's link fails in the middle of its session; the office is not affected ----------
            earlier = {intent.session_id for intent in intents.values()}
            for i, (room, (text, _)) in enumerate(ROOMS.items()):
                mesh.pulse[room].speak_into_microphone(spoken_command(text, seed=100 + 10 * i))
            listening = await client.expect(
                AsrStartListening, where=lambda m: m.site_id == "kitchen" and m.session_id not in earlier, timeout=60)
            hosts.links["kitchen"].down()
            cut_at = time.monotonic()
            office = await client.expect(
                NluIntent, where=lambda m: m.site_id == "office" and m.session_id not in earlier, timeout=60)
            await client.publish(DialogueEndSession(session_id=office.session_id))
            office_end = await client.expect(DialogueSessionEnded, where=lambda m: m.session_id == office.session_id,
                                             timeout=60)
            kitchen_end = await client.expect(DialogueSessionEnded, where=lambda m: m.session_id == listening.session_id,
                                              timeout=SESSION_TIMEOUT + 30)
            assert office_end.termination.reason == "nominal"
            assert kitchen_end.termination.reason in ("timeout", "error"), kitchen_end
            # The broker notices the dead link (keepalive 5 s) and publishes the kitchen's last wills.
            await wait_for(lambda: ("wake", "kitchen") not in online(client), 30, "the kitchen marked offline", mesh)
            assert all((s, "office") in online(client) for s in ROOM_SERVICES)
            await asyncio.sleep(max(0.0, 12 - (time.monotonic() - cut_at)))
            hosts.links["kitchen"].up()
            await wait_for(lambda: all((s, "kitchen") in online(client) for s in ROOM_SERVICES), 45,
                           "the kitchen's services online again after the link returned", mesh)

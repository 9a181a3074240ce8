"""Per-satellite ACLs on a real Mosquitto started from mosquitto/production.conf (TLS + passwords).

Ordering makes the negative checks sound without sleeps: MQTT keeps the order of one publisher's messages, so
when a later "own room" message has arrived, an earlier forbidden one would have arrived before it.
"""

from __future__ import annotations

import asyncio
import shutil

import aiomqtt

from hermes.audioserver import AudioFrame, AudioPlayBytes, AudioPlayFinished, AudioToggleOff
from hermes.hotword import HotwordDetected, HotwordToggleOff, HotwordToggleOn
from hermes.status import ServiceState, ServiceStatus
from hermes.wav import pcm_to_wav

from .conftest import SATELLITES, Secured
from .probe import Probe

MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
FRAME = pcm_to_wav(b"\x00\x00" * 256)


def frame(site: str) -> AudioFrame:
    return AudioFrame(site_id=site, wav_bytes=FRAME)


async def test_satellite_cannot_read_another_rooms_audio(secured: Secured) -> None:
    async with Probe(secured.base()) as base, Probe(secured.satellite("kitchen")) as kitchen:
        codes = await kitchen.subscribe(
            "hermes/audioServer/hall/audioFrame", "hermes/audioServer/+/audioFrame", "hermes/audioServer/#",
            "hermes/audioServer/kitchen/audioFrame",
        )
        assert codes[-1] < 0x80, "the satellite must be allowed to subscribe to its own room"
        await base.subscribe("hermes/audioServer/+/audioFrame")
        await base.publish(frame("hall").topic(), FRAME)
        await base.publish(frame("kitchen").topic(), FRAME)
        await kitchen.wait_topic("hermes/audioServer/kitchen/audioFrame")
        await base.wait_topic("hermes/audioServer/hall/audioFrame")  # the hall frame really was published
        assert "hermes/audioServer/hall/audioFrame" not in kitchen.topics()


async def test_satellite_cannot_read_transcripts_intents_or_speech(secured: Secured) -> None:
    async with Probe(secured.base()) as base, Probe(secured.satellite("kitchen")) as kitchen:
        await kitchen.subscribe("hermes/asr/textCaptured", "hermes/intent/#", "hermes/tts/say", "#",
                                "hermes/audioServer/kitchen/playBytes/#")
        await base.publish("hermes/asr/textCaptured", b'{"text":"secret","likelihood":1,"seconds":1,"siteId":"hall"}')
        await base.publish("hermes/intent/Unlock", b'{"input":"x","intent":{"intentName":"Unlock","confidenceScore":1}}')
        await base.publish("hermes/tts/say", b'{"text":"hello hall","siteId":"hall"}')
        play = AudioPlayBytes(site_id="kitchen", request_id="r1", wav_bytes=FRAME)
        await base.publish(play.topic(), play.payload())
        await kitchen.wait_topic(play.topic())
        assert kitchen.topics().count(play.topic()) >= 1
        assert not {"hermes/asr/textCaptured", "hermes/intent/Unlock", "hermes/tts/say"} & set(kitchen.topics())


async def test_satellite_cannot_publish_as_another_site(secured: Secured) -> None:
    async with Probe(secured.base()) as base, Probe(secured.satellite("kitchen")) as kitchen:
        await base.subscribe("#")
        forbidden = [
            frame("hall").topic(),
            AudioPlayBytes(site_id="hall", request_id="x", wav_bytes=FRAME).topic(),
            AudioPlayFinished(site_id="hall", id="x").topic(),
            "hermesh/status/wake/hall",
            "hermes/asr/textCaptured",
            "hermes/nlu/query",
            "hermes/intent/Unlock",
            "hermes/tts/say",
            "hermes/dialogueManager/endSession",
            "hermes/dialogueManager/startSession",
            HotwordToggleOff(site_id="hall").topic(),
            AudioToggleOff(site_id="hall").topic(),
        ]
        for topic in forbidden:
            await kitchen.publish(topic, b"{}")
        own = frame("kitchen")
        await kitchen.publish(own.topic(), own.payload())
        await base.wait_topic(own.topic())
        assert not set(forbidden) & set(base.topics()), set(forbidden) & set(base.topics())


async def test_satellite_can_do_its_own_rooms_traffic(secured: Secured) -> None:
    async with Probe(secured.base()) as base, Probe(secured.satellite("kitchen")) as kitchen:
        await base.subscribe("#")
        await kitchen.subscribe(
            "hermes/audioServer/kitchen/#", HotwordToggleOn.TOPIC, HotwordToggleOff.TOPIC,
            "hermes/audioServer/toggleOn", "hermes/audioServer/toggleOff", "rhasspy/audioServer/getDevices",
        )
        # satellite -> base: microphone, wake word (siteId in the payload), playFinished, its status
        detected = HotwordDetected(wakeword_id="porcupine", model_id="porcupine", site_id="kitchen")
        status = ServiceStatus(service="wake", instance="kitchen", status=ServiceState.ONLINE, site_ids=["kitchen"])
        finished = AudioPlayFinished(site_id="kitchen", id="r2", session_id="r2")
        for message in (frame("kitchen"), detected, finished):
            await kitchen.publish(message.topic(), message.payload())
        await kitchen.publish(status.topic(), status.payload(), retain=True)
        for message in (frame("kitchen"), detected, finished, status):
            await base.wait_topic(message.topic())
        assert HotwordDetected.from_mqtt(detected.topic(), await base.wait_topic(detected.topic())).site_id == "kitchen"
        # base -> satellite: playBytes for its site, toggles, device query
        play = AudioPlayBytes(site_id="kitchen", request_id="r2", wav_bytes=FRAME)
        toggles = [HotwordToggleOff(site_id="kitchen"), HotwordToggleOn(site_id="kitchen")]
        for message in (play, *toggles):
            await base.publish(message.topic(), message.payload())
        await base.publish("rhasspy/audioServer/getDevices", b'{"modes":["input"],"siteId":"kitchen"}')
        for topic in (play.topic(), HotwordToggleOff.TOPIC, HotwordToggleOn.TOPIC, "rhasspy/audioServer/getDevices"):
            await kitchen.wait_topic(topic)


async def satellite_dies_with_will(secured: Secured, base: Probe, will_topic: str) -> None:
    """The kitchen satellite connects (TLS, password) with a retained last will on ``will_topic``, then dies."""
    broker = secured.broker
    process = await asyncio.create_subprocess_exec(
        MOSQUITTO_SUB, "-h", "localhost", "-p", str(broker.tls_port), "--cafile", str(broker.pki.ca_cert),
        "-u", "kitchen", "-P", SATELLITES["kitchen"], "-V", "mqttv5", "-t", "hermes/audioServer/kitchen/ping",
        "--will-topic", will_topic, "--will-payload", '{"status":"offline"}', "--will-retain",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        while True:  # connected once it receives what the base publishes for its room
            await base.publish("hermes/audioServer/kitchen/ping", b"ping")
            try:
                await asyncio.wait_for(process.stdout.readline(), 0.2)
                break
            except TimeoutError:
                continue
    finally:
        process.kill()
        await process.wait()


async def test_satellite_status_and_last_will_only_under_its_own_instance(secured: Secured) -> None:
    async with Probe(secured.base()) as base:
        await base.subscribe("hermesh/status/#")
        # a will under another instance name is accepted at connect time but dropped when it would fire
        await satellite_dies_with_will(secured, base, "hermesh/status/wake/hall")
        await satellite_dies_with_will(secured, base, "hermesh/status/wake/kitchen")
        async with Probe(secured.satellite("kitchen")) as kitchen:
            await kitchen.publish("hermesh/status/audio-output/hall", b'{"status":"online"}', retain=True)
            await kitchen.publish("hermesh/status/audio-output/kitchen", b'{"status":"online"}', retain=True)
        await base.wait_topic("hermesh/status/audio-output/kitchen")
        await base.wait_topic("hermesh/status/wake/kitchen")  # the kitchen's own will did fire
        assert not {"hermesh/status/wake/hall", "hermesh/status/audio-output/hall"} & set(base.topics())


async def test_wrong_password_no_password_and_anonymous_are_refused(secured: Secured) -> None:
    from services.config import MqttSettings

    attempts = [
        secured.broker.tls("kitchen", "hall-secret"),  # another satellite's password
        secured.broker.plain("kitchen", "wrong"),
        MqttSettings(host="127.0.0.1", port=secured.broker.plain_port),  # anonymous on loopback
        MqttSettings(host="127.0.0.1", port=secured.broker.tls_port, tls=True, ca_file=secured.broker.pki.ca_cert),
    ]
    for settings in attempts:
        refused = False
        try:
            async with Probe(settings):
                pass
        except aiomqtt.MqttError as err:
            refused = "authori" in str(err).lower() or "password" in str(err).lower() or "refused" in str(err).lower()
            assert refused, f"unexpected error for {settings.username}@{settings.port}: {err}"
        assert refused, f"{settings.username or 'anonymous'} on port {settings.port} was let in"

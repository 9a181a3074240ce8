"""The room chain on real (virtual) devices: speech into the microphone -> audio-input -> wake -> detected."""

from __future__ import annotations

import asyncio

from hermes.hotword import GetHotwords, HotwordDetected, Hotwords
from services.audio.input_service import AudioInputService, AudioInputSettings
from services.wake.service import WakeService
from services.wake.settings import WakeSettings

from ..wake.speech import VOICES, wake_utterances
from .tap import tap


async def test_wake_phrase_spoken_into_the_microphone_is_detected_once(
    pulseaudio, run_service, mqtt_broker, mqtt_client, site_id
):
    stream = wake_utterances("bumblebee", VOICES[:1])  # a sentence, then the wake phrase, in a noise bed
    async with tap(mqtt_broker, HotwordDetected.subscribe_filter(), Hotwords.subscribe_filter()) as t:
        async with run_service(WakeService, settings=WakeSettings()):
            async with run_service(AudioInputService, settings=AudioInputSettings(device="pulse"), site_ids=[site_id]):
                player = pulseaudio.speak_into_microphone(stream.pcm)
                detected = await t.until(lambda t: t.of(HotwordDetected), timeout=60, what="wake word detected")
                await asyncio.to_thread(player.wait, 30)
                # everything the microphone sent before this request has been through the detector
                await mqtt_client.publish(GetHotwords(site_id=site_id, id="barrier"))
                await t.until(lambda t: t.of(Hotwords, where=lambda m: m.id == "barrier"), timeout=30, what="barrier")
    assert len(t.of(HotwordDetected)) == 1
    assert (detected[0].site_id, detected[0].wakeword_id) == (site_id, "bumblebee")

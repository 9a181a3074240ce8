"""Two ASR workers in one pool (MQTT 5 shared subscriptions): every session is answered once, by one worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.audioserver import AudioFrame
from services.asr.service import AsrService, AsrSettings
from services.config import MqttSettings
from services.nlu.training import train_profile
from tests.conftest import make_common, running

from .profiles import write_profile
from .speech import utterance
from .test_asr_service import wav_frames

SENTENCES = ["what time is it", "turn on the kitchen light", "set the bedroom lamp to blue", "set a timer for five minutes"]


class CountingAsr(AsrService):
    """The real service, counting the sessions it took."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.taken: list[str] = []

    async def on_start_listening(self, message: AsrStartListening) -> None:
        self.taken.append(message.session_id or "")
        await super().on_start_listening(message)


async def test_two_workers_share_sessions_without_duplicates(mqtt_broker, mqtt_client, tmp_path: Path):
    profile = write_profile(tmp_path / "profile")
    train_profile(profile)
    workers = []
    for index in (1, 2):
        common = make_common(mqtt_broker, profile, instance=f"asr-{index}")
        common.mqtt = MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port, shared_group="asr-pool")
        workers.append(CountingAsr(common, AsrSettings()))
    sessions = {f"pool-{i}": (f"room-{i}", SENTENCES[i % len(SENTENCES)]) for i in range(12)}
    audio = {text: wav_frames(utterance(text)) for text in SENTENCES}
    await mqtt_client.subscribe(AsrTextCaptured.subscribe_filter())
    async with running(workers[0], timeout=60), running(workers[1], timeout=60):
        for session, (site, _) in sessions.items():
            await mqtt_client.publish(AsrStartListening(site_id=site, session_id=session))

        async def speak(site: str, text: str) -> None:
            for wav in audio[text]:
                await mqtt_client.publish(AudioFrame(site_id=site, wav_bytes=wav))
                await asyncio.sleep(0)

        await asyncio.gather(*(speak(site, text) for site, text in sessions.values()))
        for session in sessions:
            await mqtt_client.expect(AsrTextCaptured, where=lambda m, s=session: m.session_id == s, timeout=60)
        await asyncio.sleep(0.5)  # a duplicate answer would arrive now
    captured = mqtt_client.received(AsrTextCaptured, where=lambda m: (m.session_id or "").startswith("pool-"))
    assert sorted(m.session_id for m in captured) == sorted(sessions)  # each session answered exactly once
    assert {m.session_id: m.text for m in captured} == {s: text for s, (_, text) in sessions.items()}
    assert sorted(workers[0].taken + workers[1].taken) == sorted(sessions)
    assert workers[0].taken and workers[1].taken, "the broker gave every session to one worker"

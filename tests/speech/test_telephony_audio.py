"""8 kHz telephony audio end to end (issue 15 §2): real spoken digits as G.711 μ-law WAV files (format tag 7), written
by our own encoder, are transcribed over HTTP, streamed as μ-law audioFrames and evaluated with /api/evaluate,
and the mesh hears exactly what the whole-file decode of the same audio hears."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from pathlib import Path

import pytest

from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
from hermes.audioserver import AudioFrame
from hermes.wav import g711_wav, wav_info
from tests.bridge.harness import http
from tests.bridge.mesh import mesh
from tests.conftest import MosquittoBroker

from . import voices
from .test_no_loss_in_the_pipeline import through_http
from .voices import sd

pytestmark = pytest.mark.timeout(240)

EVALUATED = 10


def mulaw_frames(u: sd.Utterance) -> list[bytes]:
    """The recording as μ-law audioFrames of 1,024 samples, as a telephony satellite publishes them."""
    pcm, rate = sd.read_pcm(u.wav)
    data = pcm.tobytes()
    step = 2 * voices.FRAME_SAMPLES
    return [g711_wav(data[i : i + step], "mulaw", rate) for i in range(0, len(data), step)]


def archive(chosen: list[sd.Utterance]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for u in chosen:
            expected = {"text": u.slots["digit"], "intent": {"name": u.intent},
                        "entities": [{"entity": "digit", "value": u.slots["digit"]}]}
            for suffix, data in ((".wav", u.wav), (".json", json.dumps(expected).encode())):
                info = tarfile.TarInfo(f"calls/{Path(u.name).stem}{suffix}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def test_mulaw_digits_are_heard_as_the_whole_file_decode_over_http_mqtt_and_evaluate(
        mqtt_broker: MosquittoBroker, mqtt_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    profile = voices.make_profile("digits", tmp_path / "profile")
    chosen = sd.mulaw_round_trip(voices.utterances("digits")[::2])  # 30 files, every other one of the sample
    assert {wav_info(u.wav).encoding for u in chosen} == {"mulaw"}
    async with mesh(mqtt_broker, profile, asr=True, train=True) as bridge:
        best = await asyncio.to_thread(voices.reference_texts, mqtt_broker, profile, chosen)
        over_http = await through_http(bridge, chosen)
        over_mqtt = {}
        for u in chosen:
            session = f"call-{Path(u.name).stem}"
            await mqtt_client.publish(AsrStartListening(site_id="phone", session_id=session, stop_on_silence=False))
            for frame in mulaw_frames(u):
                await mqtt_client.publish(AudioFrame(site_id="phone", wav_bytes=frame))
            await mqtt_client.publish(AsrStopListening(site_id="phone", session_id=session))
            captured = await mqtt_client.expect(AsrTextCaptured, timeout=30, where=lambda m, s=session: m.session_id == s)
            over_mqtt[u.name] = captured.text
        async with http(bridge) as client:
            reply = await client.post("/api/evaluate", files={"archive": ("calls.tar.gz", archive(chosen[:EVALUATED]))})
    assert over_http == best
    assert over_mqtt == best
    assert reply.status_code == 200, reply.text
    report = reply.json()
    right = sum(best[u.name] == u.slots["digit"] for u in chosen[:EVALUATED])
    assert report["num_wavs"] == EVALUATED and report["correct_intent_and_entities"] == right
    assert right >= EVALUATED // 2  # the decode itself hears most digits (about 3 in 4 with en-us on 8 kHz audio)

"""GET /api/tts-voices and POST /api/text-to-speech (voice, stream, bad input) with the real TTS service, espeak-ng
and Piper, on the test broker."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bridge.mesh_error import MeshError
from bridge.service import BridgeService
from hermes.audioserver import AudioPlayBytes, AudioPlayBytesStreaming, AudioToggleOff, AudioToggleOn
from hermes.errors import TtsError
from hermes.tts import TtsSay, TtsSayFinished
from hermes.wav import pcm_to_wav, read_wav
from services.runtime import HermesService, handles
from services.tts.service import TtsService
from services.tts.settings import PiperTtsSettings, TtsSettings
from tests.conftest import MosquittoBroker, make_common, running
from tests.faults.processes import ServiceProcess
from tests.tts.piper_voices import add_two_speaker_voice, add_voice

from .harness import http, run_bridge
from .peers import AudioOutputPeer

FIVE_SENTENCES = ("The kitchen light is on. The garage door is closed. It is twenty degrees outside. "
                  "Tomorrow will be sunny. Good night.")


@contextlib.asynccontextmanager
async def speech_mesh(broker: MosquittoBroker, profile: Path, settings: TtsSettings) -> AsyncIterator[BridgeService]:
    common = make_common(broker, profile)
    async with running(TtsService(common, settings)), running(AudioOutputPeer(common)), \
            run_bridge(broker, profile) as bridge:
        yield bridge


def piper(tmp_path: Path | None = None) -> TtsSettings:
    options = {"voices_dir": str(tmp_path)} if tmp_path else {}
    return TtsSettings(engine="piper", piper=PiperTtsSettings(**options))


async def test_voices_list_the_installed_voices_of_espeak_and_of_piper(mqtt_broker, profile_dir, tmp_path):
    async with speech_mesh(mqtt_broker, profile_dir, TtsSettings()) as bridge, http(bridge) as client:
        espeak = (await client.get("/api/tts-voices")).json()
    add_voice(tmp_path, "de_DE-copy-medium", "de_DE", speakers=("anna", "ben"))
    async with speech_mesh(mqtt_broker, profile_dir, piper(tmp_path)) as bridge, http(bridge) as client:
        piper_voices = (await client.get("/api/tts-voices")).json()
    # Rhasspy's format: a list of {voiceId, description}; espeak-ng's voices have no extension keys
    assert isinstance(espeak, list) and any(v["voiceId"] == "en-us" for v in espeak)
    assert all(set(v) == {"voiceId", "description"} for v in espeak)
    by_id = {v["voiceId"]: v for v in piper_voices}
    assert set(by_id) == {"de_DE-copy-medium", "en_US-joe-medium"}
    assert by_id["en_US-joe-medium"]["languages"] == ["en_US"]
    assert by_id["de_DE-copy-medium"]["speakers"] == ["anna", "ben"]


async def test_voice_picks_the_voice_for_one_request(mqtt_broker, profile_dir, mqtt_client, tmp_path):
    """?voice=<voiceId> goes to the TTS as the say's voice, and that voice speaks: the German copy's config says
    a slower speaking rate, so the same text is longer."""
    add_voice(tmp_path, "de_DE-copy-medium", "de_DE")
    slow = tmp_path / "de_DE-copy-medium.onnx.json"
    config = json.loads(slow.read_text(encoding="utf-8"))
    config["inference"]["length_scale"] = 2.0
    slow.write_text(json.dumps(config), encoding="utf-8")
    await mqtt_client.subscribe(TtsSay.subscribe_filter())
    async with speech_mesh(mqtt_broker, profile_dir, piper(tmp_path)) as bridge, http(bridge) as client:
        default = await client.post("/api/text-to-speech", content="Hello there.", params={"play": "false"})
        picked = await client.post("/api/text-to-speech", content="Hello there.",
                                   params={"play": "false", "voice": "de_DE-copy-medium"})
        by_language = await client.post("/api/text-to-speech", content="Hello there.",
                                        params={"play": "false", "voice": "en-US"})
    for reply in (default, picked, by_language):
        assert reply.status_code == 200, reply.text
    says = mqtt_client.received(TtsSay)
    assert [(s.voice, s.lang) for s in says] == [(None, None), ("de_DE-copy-medium", None), (None, "en-US")]
    seconds = [read_wav(r.content)[0].seconds for r in (default, picked)]
    assert seconds[1] > 1.5 * seconds[0], seconds


async def test_speaker_picks_a_speaker_of_a_multi_speaker_voice_and_one_it_lacks_is_400_naming_them(
        mqtt_broker, profile_dir, mqtt_client, tmp_path):
    """?speaker= beside ?voice= reaches Piper, whole and streamed, on a real two-speaker voice (speaker 1 speaks
    1.5x as slowly); the says without it carry no speaker key, as Rhasspy's do."""
    add_two_speaker_voice(tmp_path, "en_US-pair-medium")
    await mqtt_client.subscribe(TtsSay.subscribe_filter())
    pair = {"play": "false", "voice": "en_US-pair-medium"}
    async with speech_mesh(mqtt_broker, profile_dir, piper(tmp_path)) as bridge, http(bridge) as client:
        joe = await client.post("/api/text-to-speech", content="Hello there.", params={**pair, "speaker": "joe"})
        slow = await client.post("/api/text-to-speech", content="Hello there.",
                                 params={**pair, "speaker": "slow_joe"})
        streamed = await client.post("/api/text-to-speech", content="Hello there.",
                                     params={**pair, "speaker": "1", "stream": "true"})
        unknown = await client.post("/api/text-to-speech", content="Hello there.", params={**pair, "speaker": "dave"})
        unknown_streamed = await client.post("/api/text-to-speech", content="Hello there.",
                                             params={**pair, "speaker": "dave", "stream": "true"})
        not_a_name = await client.post("/api/text-to-speech", content="Hello there.",
                                       params={**pair, "speaker": "x" * 101})
        one_speaker = await client.post("/api/text-to-speech", content="Hello there.",
                                        params={"play": "false", "speaker": "slow_joe"})
        plain = await client.post("/api/text-to-speech", content="Hello there.", params=pair)
    for reply in (joe, slow, streamed, one_speaker, plain):
        assert reply.status_code == 200, reply.text
    seconds = [read_wav(r.content)[0].seconds for r in (joe, slow)]
    assert 1.25 < seconds[1] / seconds[0] < 1.7, seconds
    assert 1.2 < (len(streamed.content) - 44) / 2 / 22050 / seconds[0] < 1.8  # the slow speaker, streamed
    for reply in (unknown, unknown_streamed):
        assert reply.status_code == 400 and "has no speaker 'dave'" in reply.text and "joe, slow_joe" in reply.text
    assert not_a_name.status_code == 400 and "speaker must be 1 to 100 characters" in not_a_name.text
    # The one-speaker default voice ignores the speaker (as wyoming-piper does): it speaks as without one.
    assert abs(read_wav(one_speaker.content)[0].seconds - seconds[0]) < 0.25 * seconds[0]
    says = mqtt_client.received(TtsSay)
    assert [s.speaker for s in says] == ["joe", "slow_joe", "1", "dave", "dave", "slow_joe", None]
    assert "speaker" not in json.loads(says[-1].payload())


@pytest.mark.parametrize("engine", ["espeak", "piper"])
async def test_bad_voice_text_and_length_are_4xx_naming_what_to_change(mqtt_broker, profile_dir, engine):
    settings = piper() if engine == "piper" else TtsSettings()
    settings.max_text_chars = 300
    async with speech_mesh(mqtt_broker, profile_dir, settings) as bridge, http(bridge) as client:
        unknown = await client.post("/api/text-to-speech", content="hello", params={"voice": "xx_XX-nobody-low"})
        path = await client.post("/api/text-to-speech", content="hello",
                                 params={"voice": "../../etc/en_US-joe-medium.onnx"})
        empty = await client.post("/api/text-to-speech", content="   ")
        too_long = await client.post("/api/text-to-speech", content="word " * 100, params={"play": "false"})
        too_long_streamed = await client.post("/api/text-to-speech", content="word " * 100,
                                              params={"play": "false", "stream": "true"})
        over_bridge_cap = await client.post("/api/text-to-speech", content="w" * 10_001)
        still_up = await client.post("/api/text-to-speech", content="still here", params={"play": "false"})
    expected_voice = "en_US-joe-medium" if engine == "piper" else " in all)"
    assert unknown.status_code == 400 and "xx_XX-nobody-low" in unknown.text and expected_voice in unknown.text
    assert path.status_code == 400 and "paths are not accepted" in path.text
    assert empty.status_code == 400 and "empty" in empty.text
    for reply in (too_long, too_long_streamed):
        assert reply.status_code == 400 and "tts.max_text_chars (300)" in reply.text, reply.text
    assert over_bridge_cap.status_code == 413 and "10000" in over_bridge_cap.text
    assert still_up.status_code == 200 and len(still_up.content) > 1000


async def test_stream_sends_the_first_sentence_before_the_last_is_made(mqtt_broker, profile_dir, mqtt_client):
    """Five sentences with Piper: the response's first audio arrives while the TTS has not yet sent the last
    sentence; the streamed WAV is the five sentences, each spoken once."""
    chunks_at: list[float] = []
    await mqtt_client.subscribe(TtsSay.subscribe_filter(), AudioToggleOff.subscribe_filter(),
                                AudioToggleOn.subscribe_filter())
    async with speech_mesh(mqtt_broker, profile_dir, piper()) as bridge, http(bridge) as client:
        remove = await bridge.listen(AudioPlayBytesStreaming, lambda m: chunks_at.append(time.monotonic()))
        body, first_audio_at = b"", None
        async with client.stream("POST", "/api/text-to-speech", content=FIVE_SENTENCES,
                                 params={"play": "false", "stream": "true"}) as reply:
            assert reply.status_code == 200 and reply.headers["content-type"] == "audio/wav"
            async for part in reply.aiter_bytes():
                body += part
                if first_audio_at is None and len(body) > 44:
                    first_audio_at = time.monotonic()
        remove()
        whole = await client.post("/api/text-to-speech", content=FIVE_SENTENCES, params={"play": "false"})
    assert first_audio_at is not None
    assert len(chunks_at) == 6  # five sentences and the closing chunk
    assert first_audio_at < chunks_at[4], "the first audio came only after the last sentence was made"
    with wave.open(io.BytesIO(body)) as streamed:
        assert (streamed.getframerate(), streamed.getsampwidth(), streamed.getnchannels()) == (22050, 2, 1)
    streamed_frames = (len(body) - 44) // 2
    whole_frames = read_wav(whole.content)[0].frames
    assert abs(streamed_frames - whole_frames) < 0.05 * whole_frames  # the same five sentences, once
    says = mqtt_client.received(TtsSay)
    assert [s.stream for s in says] == [True, None] and says[0].text == FIVE_SENTENCES
    assert mqtt_client.received(AudioToggleOff) and mqtt_client.received(AudioToggleOn)


async def test_stream_plays_on_the_site_when_play_is_true(mqtt_broker, profile_dir):
    common = make_common(mqtt_broker, profile_dir)
    peer = AudioOutputPeer(common)
    async with running(TtsService(common, piper())), running(peer), run_bridge(mqtt_broker, profile_dir) as bridge, \
            http(bridge) as client:
        reply = await client.post("/api/text-to-speech", content="One sentence. And another one.",
                                  params={"stream": "true"})
        await asyncio.sleep(0.2)
    assert reply.status_code == 200 and len(reply.content) > 44 + 22050
    assert [m.is_last_chunk for m in peer.streamed] == [0, 0, 1]


@pytest.mark.parametrize("play", ["true", "false"])
async def test_stream_on_several_sites_plays_the_sentences_back_to_back_on_each(mqtt_broker, profile_dir, play,
                                                                              mqtt_client):
    """stream=true with siteId=a,b,c: every site gets its own streamed say at once, and each site's audio output
    its sentences in order, closed by its last chunk; the response is the first site's WAV, all of it."""
    common = make_common(mqtt_broker, profile_dir)
    peer = AudioOutputPeer(common)
    three = "The kitchen light is on. The garage door is closed. Good night."
    await mqtt_client.subscribe(AudioToggleOff.subscribe_filter(), AudioToggleOn.subscribe_filter())
    async with running(TtsService(common, piper())), running(peer), run_bridge(mqtt_broker, profile_dir) as bridge, \
            http(bridge) as client:
        one = await client.post("/api/text-to-speech", content=three, params={"play": "false", "siteId": "solo"})
        began = time.monotonic()
        reply = await client.post("/api/text-to-speech", content=three,
                                  params={"stream": "true", "siteId": "a,b,c", "play": play})
        took = time.monotonic() - began
        await asyncio.sleep(0.3)  # the last streamFinished of a played say
    assert reply.status_code == 200, reply.text
    whole = read_wav(one.content)[0].frames
    assert abs((len(reply.content) - 44) // 2 - whole) < 0.1 * whole  # the three sentences, once
    for site in ("a", "b", "c"):
        chunks = [m for m in peer.streamed if m.site_id == site]
        assert len({m.request_id for m in chunks}) == 1, site  # one say per site
        assert [m.chunk_number for m in chunks] == [0, 1, 2, 3] and [m.is_last_chunk for m in chunks] == [0, 0, 0, 1]
        assert 0.8 * whole < sum(read_wav(m.wav_bytes)[0].frames for m in chunks) < 1.2 * whole, site
    # play=false mutes each site for its say and unmutes it after; play=true leaves the sites as they are.
    toggled = {(type(m).__name__, m.site_id) for m in [*mqtt_client.received(AudioToggleOff),
                                                       *mqtt_client.received(AudioToggleOn)]}
    muted = {(kind, site) for kind in ("AudioToggleOff", "AudioToggleOn") for site in "abc"}
    assert toggled == (muted | {("AudioToggleOff", "solo"), ("AudioToggleOn", "solo")} if play == "false"
                       else {("AudioToggleOff", "solo"), ("AudioToggleOn", "solo")})
    assert took < 30


class NonStreamingTts(HermesService):  # type: ignore[type-arg]
    """A TTS as Rhasspy's is: it ignores say.stream and answers with one playBytes, then sayFinished."""

    name = "tts"

    @handles(TtsSay)
    async def on_say(self, say: TtsSay) -> None:
        wav = pcm_to_wav(b"\x10\x00" * 16000, 16000)
        await self.publish(AudioPlayBytes(site_id=say.site_id, request_id=say.id or "x", wav_bytes=wav))
        await self.publish(TtsSayFinished(site_id=say.site_id, id=say.id))


async def test_stream_from_a_tts_that_does_not_stream_is_its_one_wav(mqtt_broker, profile_dir):
    common = make_common(mqtt_broker, profile_dir)
    async with running(NonStreamingTts(common)), run_bridge(mqtt_broker, profile_dir) as bridge, \
            http(bridge) as client:
        reply = await client.post("/api/text-to-speech", content="One. Two.", params={"stream": "true",
                                                                                    "play": "false"})
    assert reply.status_code == 200, reply.text
    assert (len(reply.content) - 44) // 2 == 16000


class FailingMidStreamTts(HermesService):  # type: ignore[type-arg]
    """A TTS whose second sentence fails: it closes the stream with its last chunk, then reports the error."""

    name = "tts"

    @handles(TtsSay)
    async def on_say(self, say: TtsSay) -> None:
        request_id = say.id or "x"
        for number, (pcm, last) in enumerate([(b"\x10\x00" * 8000, 0), (b"", 1)]):
            await self.publish(AudioPlayBytesStreaming(site_id=say.site_id, request_id=request_id,
                                                       chunk_number=number, is_last_chunk=last,
                                                       wav_bytes=pcm_to_wav(pcm, 16000)))
        await self.publish(TtsError(error="piper failed on 'two'", site_id=say.site_id, context=say.id))
        await self.publish(TtsSayFinished(site_id=say.site_id, id=say.id))


async def test_an_error_after_the_first_sentence_ends_the_stream_with_that_error(mqtt_broker, profile_dir):
    common = make_common(mqtt_broker, profile_dir)
    async with running(FailingMidStreamTts(common)), run_bridge(mqtt_broker, profile_dir) as bridge:
        got: list[bytes] = []
        with pytest.raises(MeshError, match="piper failed"):
            async with bridge.mesh.speak_stream("One. Two.", "default", answer_playback=True) as sentences:
                async for wav in sentences:
                    got.append(wav)
        async with http(bridge) as client:  # over HTTP the status is sent by then: the body is cut short
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                await client.post("/api/text-to-speech", content="One. Two.",
                                  params={"stream": "true", "play": "false"})
            status = await client.get("/api/version")
    assert len(got) == 1
    assert status.status_code == 200


LONG_TEXT = " ".join(f"This is sentence number {n} of a long announcement." for n in range(1, 41))


async def test_a_stream_cut_by_the_tts_dying_after_its_first_sentence_is_an_incomplete_response_logged_once(
        mqtt_broker, mqtt_client, profile_dir, tmp_path, caplog):
    """The real TTS process (Piper) is killed once the first sentence has reached the client: the client gets an
    incomplete chunked body, not a WAV that ends as if complete; the bridge logs it once, with the reason, and
    serves on."""
    tts = ServiceProcess("tts", mqtt_broker, profile_dir, tmp_path, "--set", "engine=piper")
    server_log = ServerErrorLog()
    got, killed_after = b"", 0
    try:
        await tts.start(mqtt_client, timeout=60)
        async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
            # Only now: starting the bridge (uvicorn's logging config) removes the handlers of uvicorn's loggers.
            logging.getLogger("uvicorn.error").addHandler(server_log)
            for _ in range(500):  # the bridge hears the TTS's online status on its own (the test client did)
                if bridge.registry.online("tts"):
                    break
                await asyncio.sleep(0.02)
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                async with client.stream("POST", "/api/text-to-speech", content=LONG_TEXT,
                                         params={"stream": "true", "play": "false"}) as reply:
                    assert reply.status_code == 200
                    async for part in reply.aiter_raw():
                        got += part
                        if not killed_after and len(got) > 44 + 22050:  # a first sentence's sound (> 0.5 s)
                            tts.pause()  # surely mid-say: it makes no more sentences from here
                            killed_after = len(got)
                            tts.kill()
            still_up = await client.get("/api/version")
    finally:
        logging.getLogger("uvicorn.error").removeHandler(server_log)
        tts.stop()
    assert killed_after and still_up.status_code == 200
    seconds = (len(got) - 44) / 2 / 22050
    # Forty sentences are about 100 s; what came is the few made before the kill (a loaded box: a few more).
    assert seconds < 20, seconds
    cut = [r for r in caplog.records if r.name == "hermesh.bridge.speech"]
    assert len(cut) == 1 and "cut short" in cut[0].getMessage(), [r.getMessage() for r in cut]
    assert "the tts service went offline" in cut[0].getMessage()  # the reason
    assert server_log.records == []  # no second report: uvicorn's traceback is dropped
    assert not [r for r in caplog.records if "unexpected error" in r.getMessage()]


class ServerErrorLog(logging.Handler):
    """What uvicorn's error logger lets through (it does not propagate to the root, so caplog misses it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.records.append(record)

"""The Wyoming server against the wyoming library's own client: every service, streaming, bad input."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.intent import Entity, Intent, NotRecognized, Recognize
from wyoming.ping import Ping
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice
from wyoming.wake import Detect, Detection

from hermes.asr import AsrStartListening, AsrStopListening
from hermes.tts import TtsSay
from tests.asr.speech import noise_only, utterance
from tests.conftest import HermesTestClient, MosquittoBroker
from tests.wake.speech import build_stream, espeak_pcm, silence

from .clients import audio_events, connect, read_until, send_all
from .mesh import WAKE_PHRASE, common_for, wyoming_mesh

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def mesh(mqtt_broker: MosquittoBroker, profile_dir: Path) -> Any:
    async with wyoming_mesh(common_for(mqtt_broker, profile_dir)) as pair:
        yield pair


async def test_describe_lists_every_service_installed(mesh: Any) -> None:
    server, _ = mesh
    async with connect(server.port) as client:
        await client.write_event(Describe().event())
        info = Info.from_event((await read_until(client, "info"))[-1])
    assert [m.languages for m in info.asr[0].models] == [["en"]]
    assert info.asr[0].installed and info.asr[0].supports_transcript_streaming
    voices = {v.name for v in info.tts[0].voices}
    assert "en-us" in voices and all(v.installed for v in info.tts[0].voices)
    assert info.tts[0].supports_synthesize_streaming
    assert [(m.name, m.phrase) for m in info.wake[0].models] == [(WAKE_PHRASE, WAKE_PHRASE)]
    assert info.intent[0].installed and info.intent[0].models[0].languages == ["en"]
    assert info.handle[0].installed and info.handle[0].supports_home_control
    assert info.satellite is None  # a satellite on this port would hide every service from Home Assistant


async def test_describe_lists_voices_and_wake_words_only_once_their_services_answer(
        mqtt_broker: MosquittoBroker, profile_dir: Path) -> None:
    """No stand-in list from the bridge's own espeak-ng or the profile's wake section: the TTS or wake service
    may run elsewhere with another engine. Unknown is empty; the services coming online fill it in."""
    from services.tts.service import TtsService
    from services.wake.service import WakeService

    from .mesh import running

    common = common_for(mqtt_broker, profile_dir)
    async with wyoming_mesh(common, roles={"nlu", "handler", "dialogue"}) as (server, _):
        async with connect(server.port) as client:
            await client.write_event(Describe().event())
            before = Info.from_event((await read_until(client, "info"))[-1])
        async with running(TtsService(common)), running(WakeService(common)):
            for _ in range(100):  # the catalog asks again when it sees them come online
                if server.catalog.voices_from_mesh and server.catalog.wake_from_mesh:
                    break
                await asyncio.sleep(0.05)
            async with connect(server.port) as client:
                await client.write_event(Describe().event())
                after = Info.from_event((await read_until(client, "info"))[-1])
    assert before.tts[0].voices == [] and before.wake[0].models == []
    assert before.asr[0].installed and before.intent[0].installed  # the rest of the info is there at once
    assert "en-us" in {v.name for v in after.tts[0].voices}
    assert [m.phrase for m in after.wake[0].models] == [WAKE_PHRASE]


@pytest.mark.parametrize(("rate", "width", "channels"), [(16000, 2, 1), (44100, 4, 2), (22050, 1, 1)])
async def test_transcribe_in_any_format_gives_the_transcript_with_streaming_events(
        mesh: Any, rate: int, width: int, channels: int) -> None:
    server, _ = mesh
    pcm = utterance("turn on the kitchen light")
    async with connect(server.port) as client:
        await client.write_event(Transcribe(language="en").event())
        await send_all(client, audio_events(pcm, rate, width, channels))
        events = await read_until(client, "transcript-stop")
    kinds = [e.type for e in events]
    assert kinds == ["transcript-start", "transcript-chunk", "transcript", "transcript-stop"]
    transcript = Transcript.from_event(events[2])
    assert transcript.text.replace(" the ", " ") == "turn on kitchen light"
    assert transcript.language == "en"
    assert events[1].data["text"] == transcript.text


async def test_describe_and_ping_are_answered_in_the_middle_of_a_transcription(mesh: Any) -> None:
    server, _ = mesh
    events = audio_events(utterance("what time is it"))
    async with connect(server.port) as client:
        await client.write_event(Transcribe().event())
        await send_all(client, events[: len(events) // 2])
        await client.write_event(Describe().event())
        await client.write_event(Ping(text="hi").event())
        got = await read_until(client, "pong")
        assert "info" in [e.type for e in got] and got[-1].data["text"] == "hi"
        await send_all(client, events[len(events) // 2 :])
        got = await read_until(client, "transcript")
    assert Transcript.from_event(got[-1]).text == "what time is it"


def collect_audio(events: list[Event]) -> tuple[list[tuple[int, int, int]], bytes]:
    formats, pcm = [], b""
    for event in events:
        if AudioStart.is_type(event.type):
            start = AudioStart.from_event(event)
            formats.append((start.rate, start.width, start.channels))
        elif AudioChunk.is_type(event.type):
            pcm += AudioChunk.from_event(event).audio
    return formats, pcm


async def test_synthesize_streams_the_tts_audio(mesh: Any) -> None:
    server, _ = mesh
    async with connect(server.port) as client:
        await client.write_event(Synthesize(text="Hello from the mesh", voice=SynthesizeVoice(name="en-us")).event())
        events = await read_until(client, "audio-stop")
    formats, pcm = collect_audio(events)
    assert [e.type for e in events][0] == "audio-start" and len(formats) == 1
    rate, width, channels = formats[0]
    seconds = len(pcm) / (rate * width * channels)
    assert 0.5 < seconds < 5.0
    assert np.abs(np.frombuffer(pcm, dtype="<i2")).max() > 1000  # speech, not silence


async def test_streamed_synthesis_speaks_each_sentence_once(mesh: Any, mqtt_client: HermesTestClient) -> None:
    server, _ = mesh
    await mqtt_client.subscribe(TtsSay.subscribe_filter())
    async with connect(server.port) as client:
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="en-us")).event())
        for piece in ["Hello there. How ", "are you", " today? Fine", " thanks"]:
            await client.write_event(SynthesizeChunk(text=piece).event())
        await client.write_event(Synthesize(text="Hello there. How are you today? Fine thanks").event())
        await client.write_event(SynthesizeStop().event())
        events = await read_until(client, "synthesize-stopped")
    formats, pcm = collect_audio(events)
    assert len(formats) == 3 and len(set(formats)) == 1  # one audio group per sentence, one format
    assert len(pcm) > 0
    said = [m.text for m in mqtt_client.received(TtsSay, where=lambda m: m.site_id.startswith("wyoming-"))]
    assert said == ["Hello there.", "How are you today?", "Fine thanks"]  # the compatibility synthesize is not spoken


async def test_detect_reports_the_wake_word_of_the_mesh(mesh: Any) -> None:
    server, _ = mesh
    stream = build_stream([silence(1.0), ("wake", espeak_pcm(WAKE_PHRASE)), silence(1.5)])
    async with connect(server.port) as client:
        await client.write_event(Detect(names=[WAKE_PHRASE]).event())
        # As Home Assistant does: audio keeps flowing in real time while the detection is awaited.
        sender = asyncio.create_task(send_all(client, audio_events(stream.pcm)[:-1], realtime=True))
        events = await read_until(client, "detection")
        sender.cancel()
    detection = Detection.from_event(events[-1])
    assert detection.name == WAKE_PHRASE
    start, _ = stream.marks[0]
    assert detection.timestamp is not None and detection.timestamp >= start * 1000


async def test_detect_without_the_wake_word_ends_with_not_detected(mesh: Any) -> None:
    server, _ = mesh
    async with connect(server.port) as client:
        await client.write_event(Detect(names=[WAKE_PHRASE]).event())
        await send_all(client, audio_events(noise_only(1.0)))
        events = await read_until(client, "not-detected")
    assert "detection" not in [e.type for e in events]


async def test_recognize_gives_intent_or_not_recognized_without_handling(mesh: Any) -> None:
    server, peers = mesh
    async with connect(server.port) as client:
        await client.write_event(Recognize(text="turn on the kitchen light", context={"conversation_id": "c1"}).event())
        intent = Intent.from_event((await read_until(client, "intent"))[-1])
        await client.write_event(Recognize(text="sing me a song").event())
        not_recognized = NotRecognized.from_event((await read_until(client, "not-recognized"))[-1])
    assert intent.name == "ChangeLightState"
    assert sorted((e.name, e.value) for e in intent.entities) == [("name", "kitchen light"), ("state", "on")]
    assert intent.context == {"conversation_id": "c1"}
    assert not_recognized.text
    assert peers.handled == []  # the client executes a recognised intent itself, the mesh must not


async def test_transcript_to_handle_gives_the_handlers_reply_streamed(mesh: Any) -> None:
    server, peers = mesh
    async with connect(server.port) as client:
        await client.write_event(Transcript(text="turn on the kitchen light",
                                            context={"conversation_id": "abc"}).event())
        events = await read_until(client, "handled-stop")
        assert [e.type for e in events] == ["handled-start", "handled-chunk", "handled", "handled-stop"]
        handled = Handled.from_event(events[2])
        assert handled.text == "Turning on the kitchen light" and handled.context == {"conversation_id": "abc"}
        assert peers.handled[-1].custom_data == "abc"  # the conversation id travels with the session

        await client.write_event(Transcript(text="what time is it").event())  # a handler ending the session
        assert Handled.from_event((await read_until(client, "handled"))[-1]).text == "It is twelve o'clock"

        await client.write_event(Intent(name="ChangeLightState", entities=[Entity("name", "garage light"),
                                                                            Entity("state", "off")]).event())
        assert Handled.from_event((await read_until(client, "handled"))[-1]).text == "Turning off the garage light"


async def test_unrecognised_or_unanswered_handle_gives_not_handled(mesh: Any) -> None:
    server, _ = mesh
    async with connect(server.port) as client:
        await client.write_event(Transcript(text="sing me a song").event())
        assert NotHandled.from_event((await read_until(client, "not-handled"))[-1]).text
        await client.write_event(Transcript(text="stay silent").event())  # recognised, but no handler speaks
        not_handled = NotHandled.from_event((await read_until(client, "not-handled"))[-1])
    assert "no intent handler answered" in (not_handled.text or "")


async def test_bad_input_gives_error_events_and_keeps_the_connection(mesh: Any) -> None:
    server, _ = mesh
    async with connect(server.port) as client:
        await client.write_event(Event(type="no-such-event", data={"x": 1}))  # ignored
        await client.write_event(AudioChunk(16000, 2, 1, b"\0" * 320).event())
        assert Error.from_event((await read_until(client, "error"))[-1]).code == "no-request"
        await client.write_event(Transcribe().event())
        await client.write_event(AudioChunk(16000, 7, 1, b"\0" * 70).event())
        assert Error.from_event((await read_until(client, "error"))[-1]).code == "audio-format"
        await client.write_event(AudioChunk(16000, 2, 1, b"\0" * 3).event())
        assert Error.from_event((await read_until(client, "error"))[-1]).code == "audio-format"
        await client.write_event(Event(type="audio-chunk", data={"width": 2}, payload=b"\0\0"))
        assert Error.from_event((await read_until(client, "error"))[-1]).code == "bad-event"
        await client.write_event(Event(type="synthesize", data={}))
        assert Error.from_event((await read_until(client, "error"))[-1]).code == "bad-event"
        await client.write_event(Describe().event())
        await read_until(client, "info")  # still served


async def test_connection_dropped_mid_stream_closes_the_asr_session(mesh: Any, mqtt_client: HermesTestClient) -> None:
    server, _ = mesh
    await mqtt_client.subscribe(AsrStartListening.subscribe_filter(), AsrStopListening.subscribe_filter())
    events = audio_events(utterance("turn off the garage light"))
    async with connect(server.port) as client:
        await client.write_event(Transcribe().event())
        await send_all(client, events[: len(events) // 2])
    started = await mqtt_client.expect(AsrStartListening, where=lambda m: m.site_id.startswith("wyoming-"))
    await mqtt_client.expect(AsrStopListening, where=lambda m: m.session_id == started.session_id)
    async with connect(server.port) as client:  # the server is unharmed
        await client.write_event(Transcribe().event())
        await send_all(client, audio_events(utterance("what time is it")))
        assert Transcript.from_event((await read_until(client, "transcript"))[-1]).text == "what time is it"


async def test_many_connections_at_once(mesh: Any) -> None:
    server, _ = mesh

    async def transcribe(text: str) -> str:
        async with connect(server.port) as client:
            await client.write_event(Transcribe().event())
            await send_all(client, audio_events(utterance(text)))
            return Transcript.from_event((await read_until(client, "transcript"))[-1]).text

    async def synthesize() -> int:
        async with connect(server.port) as client:
            await client.write_event(Synthesize(text="one two three").event())
            return len(collect_audio(await read_until(client, "audio-stop"))[1])

    async def recognize() -> str:
        async with connect(server.port) as client:
            await client.write_event(Recognize(text="what time is it").event())
            return Intent.from_event((await read_until(client, "intent"))[-1]).name

    results = await asyncio.gather(transcribe("what time is it"), transcribe("turn off the garage light"),
                                   synthesize(), synthesize(), recognize())
    assert results[0] == "what time is it"
    assert results[1].replace(" the ", " ") == "turn off garage light"
    assert results[2] > 0 and results[3] > 0
    assert results[4] == "GetTime"


async def test_the_bridge_starts_the_wyoming_server_on_its_wyoming_port(
        mqtt_broker: MosquittoBroker, profile_dir: Path) -> None:
    from bridge.service import BridgeService
    from services.config import HttpSettings
    from tests.conftest import free_port, make_common, running

    http = HttpSettings(port=free_port(), wyoming_port=free_port())
    bridge = BridgeService(make_common(mqtt_broker, profile_dir, http=http))
    async with running(bridge):
        assert bridge.wyoming is not None
        async with connect(http.wyoming_port) as client:
            await client.write_event(Describe().event())
            info = Info.from_event((await read_until(client, "info"))[-1])
    assert info.asr and info.tts and info.wake and info.intent and info.handle


async def test_detect_only_reports_the_wake_words_asked_for(mesh: Any) -> None:
    server, _ = mesh
    stream = build_stream([silence(1.0), espeak_pcm(WAKE_PHRASE), silence(1.5)])
    async with connect(server.port) as client:
        await client.write_event(Detect(names=["alexa_v0.1"]).event())
        await send_all(client, audio_events(stream.pcm), realtime=True)
        events = await read_until(client, "not-detected")
    assert "detection" not in [e.type for e in events]


async def test_a_missing_mesh_service_gives_an_error_naming_it(mqtt_broker: MosquittoBroker, profile_dir: Path) -> None:
    from bridge.wyoming.settings import WyomingSettings

    async with wyoming_mesh(common_for(mqtt_broker, profile_dir), WyomingSettings(reply_timeout=1.0),
                            roles=set()) as (server, _):  # only the ASR: no NLU, no TTS anywhere
        async with connect(server.port) as client:
            await client.write_event(Recognize(text="what time is it").event())
            nlu_error = Error.from_event((await read_until(client, "error"))[-1])
            await client.write_event(Synthesize(text="hello").event())
            tts_error = Error.from_event((await read_until(client, "error"))[-1])
    assert nlu_error.code == "nlu-timeout" and "hermesh nlu" in nlu_error.text
    assert tts_error.code == "tts-timeout" and "hermesh tts" in tts_error.text


async def test_dropping_a_streamed_synthesis_never_leaves_the_tts_waiting(
        mesh: Any, mqtt_client: HermesTestClient) -> None:
    from hermes.errors import TtsError
    from hermes.tts import TtsSayFinished

    server, _ = mesh
    await mqtt_client.subscribe(TtsSay.subscribe_filter(), TtsSayFinished.subscribe_filter(),
                                TtsError.subscribe_filter())
    async with connect(server.port) as client:
        await client.write_event(SynthesizeStart().event())
        await client.write_event(SynthesizeChunk(text="This sentence is being spoken. And this one").event())
        await read_until(client, "audio-chunk")  # the first sentence is on its way; now the client goes away
    say = await mqtt_client.expect(TtsSay, where=lambda m: m.site_id.startswith("wyoming-"))
    await mqtt_client.expect(TtsSayFinished, where=lambda m: m.id == say.id)
    assert mqtt_client.received(TtsError) == []  # playFinished came in time: no "did not report playFinished"

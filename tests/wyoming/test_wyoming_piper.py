"""The real wyoming-piper as a peer: our Wyoming TTS engine speaks through it, and our own Wyoming server answers
the same client flows (describe, synthesize, Home Assistant's streaming synthesize) with the same events and
audio fields, both with the bundled en_US-joe-medium voice."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

from bridge.wyoming.server import WyomingServer
from bridge.wyoming.settings import WyomingSettings
from hermes.audioserver import AudioPlayBytes
from hermes.errors import TtsError
from hermes.tts import TtsSay, TtsSayFinished
from hermes.wav import read_wav
from services.tts.service import TtsService
from services.tts.settings import PiperTtsSettings, TtsSettings
from tests.conftest import MosquittoBroker, make_common, running
from tests.tts.piper_voices import add_two_speaker_voice, add_voice
from tests.tts.test_piper_service import audio_output

from .clients import connect, read_until
from .mesh import WyomingHost
from .wyoming_piper import wyoming_piper_server

# CI installs the test extra (scripts/install.sh --test): there a missing wyoming-piper fails instead.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("wyoming_piper") is None and not os.environ.get("CI"),
                                reason="wyoming-piper (the test extra) is not installed: bash scripts/install.sh --test")

VOICE = "en_US-joe-medium"
TWO_SENTENCES = "Hello there. How are you today?"
PIECES = ["Hello there. How a", "re you today? Fine", " thanks"]


@pytest.fixture(scope="module")
def piper_uri() -> Iterator[str]:
    with wyoming_piper_server() as server:
        yield server.uri


@contextlib.asynccontextmanager
async def our_server(broker: MosquittoBroker, profile: Path, voices_dir: Path | None = None) -> AsyncIterator[str]:
    common = make_common(broker, profile)
    settings = TtsSettings(engine="piper", piper=PiperTtsSettings(voices_dir=str(voices_dir) if voices_dir else None))
    async with running(TtsService(common, settings)), running(WyomingHost(common)) as host:
        server = WyomingServer(host, "127.0.0.1", 0, WyomingSettings(reply_timeout=20, handle_timeout=3))
        await server.start()
        try:
            if server.catalog._refreshing:  # noqa: SLF001 - the first voice list from the mesh
                await server.catalog._refreshing  # noqa: SLF001
            yield f"tcp://127.0.0.1:{server.port}"
        finally:
            await server.stop()


def port_of(uri: str) -> int:
    return int(uri.rsplit(":", 1)[1])


async def flow(uri: str, events: list[Event], until: str) -> list[Event]:
    async with connect(port_of(uri)) as client:
        for event in events:
            await client.write_event(event)
        return await read_until(client, until, timeout=60)


def shape(events: list[Event]) -> list[str]:
    """Event types with runs of audio-chunk folded into one (how many chunks depends on the audio's length)."""
    return [kind for kind, _ in itertools.groupby(e.type for e in events)]


def audio_fields(events: list[Event]) -> set[tuple[int, int, int]]:
    fields = set()
    for event in events:
        if AudioStart.is_type(event.type) or AudioChunk.is_type(event.type):
            data = event.data
            fields.add((data["rate"], data["width"], data["channels"]))
    return fields


def seconds(events: list[Event]) -> float:
    chunks = [AudioChunk.from_event(e) for e in events if AudioChunk.is_type(e.type)]
    return sum(len(c.audio) // (c.width * c.channels) / c.rate for c in chunks)


def streaming_flow() -> list[Event]:
    """Home Assistant's streaming TTS: start, the text in pieces, the compatibility synthesize, stop."""
    return [SynthesizeStart(voice=SynthesizeVoice(name=VOICE)).event(),
            *(SynthesizeChunk(text=piece).event() for piece in PIECES),
            Synthesize(text="".join(PIECES), voice=SynthesizeVoice(name=VOICE)).event(),
            SynthesizeStop().event()]


async def test_our_server_answers_the_flows_as_wyoming_piper_does(piper_uri, mqtt_broker, profile_dir):
    plain = [Synthesize(text=TWO_SENTENCES, voice=SynthesizeVoice(name=VOICE)).event()]
    theirs = {"info": await flow(piper_uri, [Describe().event()], "info"),
              "plain": await flow(piper_uri, plain, "audio-stop"),
              "streamed": await flow(piper_uri, streaming_flow(), "synthesize-stopped")}
    async with our_server(mqtt_broker, profile_dir) as uri:
        ours = {"info": await flow(uri, [Describe().event()], "info"),
                "plain": await flow(uri, plain, "audio-stop"),
                "streamed": await flow(uri, streaming_flow(), "synthesize-stopped")}
    for name in ("plain", "streamed"):
        assert shape(ours[name]) == shape(theirs[name]), name
        assert audio_fields(ours[name]) == audio_fields(theirs[name]) == {(22050, 2, 1)}, name
        # The same voice says the same text: about as long (Piper's noise varies the length a little).
        assert abs(seconds(ours[name]) - seconds(theirs[name])) < 0.25 * seconds(theirs[name]), name
    # Three sentences streamed, each its own audio group, the compatibility synthesize not spoken again.
    assert shape(theirs["streamed"]) == ["audio-start", "audio-chunk", "audio-stop"] * 3 + ["synthesize-stopped"]
    our_info, their_info = Info.from_event(ours["info"][0]), Info.from_event(theirs["info"][0])
    assert our_info.tts[0].supports_synthesize_streaming and their_info.tts[0].supports_synthesize_streaming
    our_voices = {v.name: v for v in our_info.tts[0].voices}
    their_voice = next(v for v in their_info.tts[0].voices if v.name == VOICE)
    assert list(our_voices) == [VOICE]  # only what is installed (wyoming-piper lists its whole catalogue)
    assert their_voice.languages[0] in our_voices[VOICE].languages and our_voices[VOICE].installed


async def test_our_wyoming_tts_engine_speaks_through_wyoming_piper(piper_uri, run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(TtsSayFinished.subscribe_filter(), TtsError.subscribe_filter())
    settings = TtsSettings(engine="wyoming", engine_options={"uri": piper_uri}, play_finished_margin=0.5)
    async with run_service(TtsService, settings=settings), audio_output(mqtt_client, site_id):
        await mqtt_client.publish(TtsSay(text=TWO_SENTENCES, site_id=site_id, id="wp-1"))
        await mqtt_client.expect(TtsSayFinished, timeout=60, where=lambda m: m.id == "wp-1")
        await mqtt_client.publish(TtsSay(text="Picked by name.", site_id=site_id, id="wp-2", voice=VOICE))
        await mqtt_client.expect(TtsSayFinished, timeout=60, where=lambda m: m.id == "wp-2")
    assert mqtt_client.received(TtsError) == []
    played = mqtt_client.received(AudioPlayBytes, where=lambda m: m.site_id == site_id)
    assert [p.request_id for p in played] == ["wp-1", "wp-2"]
    info, frames = read_wav(played[0].wav_bytes)
    assert (info.rate, info.width, info.channels) == (22050, 2, 1) and info.seconds > 1.0




async def test_our_server_sends_the_first_sentence_before_the_last_is_made_and_refuses_bad_voices(
        mqtt_broker, profile_dir):
    five = ("The kitchen light is on. The garage door is closed. It is twenty degrees outside. "
            "Tomorrow will be sunny. Good night.")
    async with our_server(mqtt_broker, profile_dir) as uri, connect(port_of(uri)) as client:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await client.write_event(Synthesize(text=five, voice=SynthesizeVoice(name=VOICE)).event())
        arrivals: list[tuple[str, float]] = []
        while not arrivals or arrivals[-1][0] != "audio-stop":
            event = await asyncio.wait_for(client.read_event(), 60)
            assert event is not None
            arrivals.append((event.type, loop.time() - began))
        unknown = await flow(uri, [Synthesize(text="hello", voice=SynthesizeVoice(name="xx_XX-nobody")).event()],
                             "error")
        path = await flow(uri, [Synthesize(text="hello", voice=SynthesizeVoice(name="../joe.onnx")).event()],
                          "error")
        too_long = await flow(uri, [Synthesize(text="word " * 1001).event()], "error")
        empty = await flow(uri, [Synthesize(text="  ").event()], "audio-stop")
        still_there = await flow(uri, [Synthesize(text="Still here.").event()], "audio-stop")
    first_chunk = next(at for kind, at in arrivals if kind == "audio-chunk")
    assert first_chunk < 0.6 * arrivals[-1][1], arrivals[::20]  # one sentence of five, not the whole text
    assert shape([Event(type=kind) for kind, _ in arrivals]) == ["audio-start", "audio-chunk", "audio-stop"]
    assert "installed voices" in unknown[-1].data["text"] and VOICE in unknown[-1].data["text"]
    assert "not a voice name" in path[-1].data["text"]
    assert "tts.max_text_chars (5000)" in too_long[-1].data["text"]
    assert shape(empty) == ["audio-start", "audio-stop"]  # nothing to say: an empty sound
    assert shape(still_there) == ["audio-start", "audio-chunk", "audio-stop"]


async def test_our_info_lists_each_installed_voice_with_its_languages_and_speakers(mqtt_broker, profile_dir,
                                                                                   tmp_path):
    add_voice(tmp_path, "de_DE-copy-medium", "de_DE", speakers=("anna", "ben"))
    async with our_server(mqtt_broker, profile_dir, tmp_path) as uri:
        info = Info.from_event((await flow(uri, [Describe().event()], "info"))[0])
    voices = {v.name: v for v in info.tts[0].voices}
    assert set(voices) == {VOICE, "de_DE-copy-medium"}
    assert voices["de_DE-copy-medium"].languages == ["de_DE", "de"]
    assert [s.name for s in voices["de_DE-copy-medium"].speakers or []] == ["anna", "ben"]
    assert voices[VOICE].languages == ["en_US", "en"] and voices[VOICE].speakers is None
    assert all(v.installed for v in voices.values())


async def test_a_wyoming_speaker_reaches_piper_and_one_the_voice_lacks_is_an_error_naming_its_speakers(
        piper_uri, mqtt_broker, profile_dir, tmp_path):
    """Home Assistant's voice{name, speaker} over our server, on a real two-speaker voice (speaker 1 speaks 1.5x as
    slowly). A one-speaker voice ignores the speaker, as wyoming-piper does; our server then says the same."""
    pair = "en_US-pair-medium"
    add_two_speaker_voice(tmp_path, pair)

    def say(voice: SynthesizeVoice) -> list[Event]:
        return [Synthesize(text=TWO_SENTENCES, voice=voice).event()]

    theirs_ignored = await flow(piper_uri, say(SynthesizeVoice(name=VOICE, speaker="slow_joe")), "audio-stop")
    async with our_server(mqtt_broker, profile_dir, tmp_path) as uri:
        info = Info.from_event((await flow(uri, [Describe().event()], "info"))[0])
        joe = await flow(uri, say(SynthesizeVoice(name=pair, speaker="joe")), "audio-stop")
        slow = await flow(uri, say(SynthesizeVoice(name=pair, speaker="slow_joe")), "audio-stop")
        streamed_slow = await flow(uri, [SynthesizeStart(voice=SynthesizeVoice(name=pair, speaker="1")).event(),
                                         SynthesizeChunk(text=TWO_SENTENCES).event(), SynthesizeStop().event()],
                                   "synthesize-stopped")
        unknown = await flow(uri, say(SynthesizeVoice(name=pair, speaker="dave")), "error")
        ignored = await flow(uri, say(SynthesizeVoice(name=VOICE, speaker="slow_joe")), "audio-stop")
        still_there = await flow(uri, say(SynthesizeVoice(name=pair)), "audio-stop")
    speakers = {v.name: [s.name for s in v.speakers or []] for v in info.tts[0].voices}
    assert speakers[pair] == ["joe", "slow_joe"]  # what Home Assistant offers to choose from
    assert 1.25 < seconds(slow) / seconds(joe) < 1.7, (seconds(slow), seconds(joe))
    assert 1.25 < seconds(streamed_slow) / seconds(joe) < 1.7
    assert shape(unknown) == ["error"]
    assert "has no speaker 'dave'" in unknown[-1].data["text"] and "joe, slow_joe" in unknown[-1].data["text"]
    assert shape(ignored) == shape(theirs_ignored) == ["audio-start", "audio-chunk", "audio-stop"]
    assert abs(seconds(ignored) - seconds(theirs_ignored)) < 0.25 * seconds(theirs_ignored)
    assert shape(still_there) == ["audio-start", "audio-chunk", "audio-stop"]


async def test_our_wyoming_tts_engine_sends_a_says_speaker_to_wyoming_piper(run_service, mqtt_client, site_id,
                                                                           tmp_path):
    """tts/say with a speaker, through our Wyoming TTS engine, to the real wyoming-piper serving the two-speaker
    voice (speaker 1 speaks 1.5x as slowly): wyoming-piper hears the speaker, so the slow one is longer."""
    pair = "en_US-pair-medium"
    add_two_speaker_voice(tmp_path / "voices", pair)
    await mqtt_client.subscribe(TtsSayFinished.subscribe_filter(), TtsError.subscribe_filter())
    with wyoming_piper_server("--data-dir", str(tmp_path / "voices")) as server:
        settings = TtsSettings(engine="wyoming", engine_options={"uri": server.uri}, play_finished_margin=0.5)
        async with run_service(TtsService, settings=settings), audio_output(mqtt_client, site_id):
            for n, speaker in enumerate(["joe", "slow_joe", None]):
                await mqtt_client.publish(TtsSay(text=TWO_SENTENCES, site_id=site_id, id=f"sp-{n}", voice=pair,
                                                 speaker=speaker))
                await mqtt_client.expect(TtsSayFinished, timeout=60, where=lambda m, n=n: m.id == f"sp-{n}")
    assert mqtt_client.received(TtsError) == []
    played = {p.request_id: read_wav(p.wav_bytes)[0].seconds
              for p in mqtt_client.received(AudioPlayBytes, where=lambda m: m.site_id == site_id)}
    assert 1.25 < played["sp-1"] / played["sp-0"] < 1.7, played
    assert abs(played["sp-2"] - played["sp-0"]) < 0.25 * played["sp-0"]  # no speaker: the voice's default (0)

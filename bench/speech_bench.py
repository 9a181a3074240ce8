"""Real-voice benchmark (issue 18, items 4 and 5): the recordings of ../shared/speech through four paths, side by side.

Data (``bench/speech_data.py``): coffee commands clean (300) and with kitchen noise at 24, 18, 12, 6 dB (fixed
seed); spoken digits as recorded at 8 kHz (400) and as G.711 μ-law WAV files; ``short``: the default profile's
short commands spoken by espeak-ng in two voices (40, for the speed of short commands: no real recordings of them
are at hand). Profiles: the coffee grammar converted from ``coffee_maker.yaml``, one ``Digit`` intent, and the
default profile; all trained with ``train_profile`` (what ``hermesh train`` runs).

Columns:

* **(a) anchor**: plain pocketsphinx with our trained model (the FSG text and dictionary the ASR trains
  from), the whole file (resampled whole to 16 kHz, as the bridge does) in one ``process_raw(pcm, False, True)``;
  one decoder, files in order. Time = the decode call.
* **(b) engine**: ``PocketsphinxAsrEngine`` built as the ASR service builds it (the profile's ``asr``
  settings): ``open_stream`` / ``feed(whole)`` / ``finish``. What the mesh should equal.
  (a) and (b) run in a child process each (clean CPU and RSS); the text goes to the in-process NLU.
* **(c) HTTP**: ``hermesh asr``, ``hermesh nlu`` and ``hermesh bridge`` as their own processes on a Mosquitto
  on a free loopback port; each WAV POSTed to ``/api/speech-to-intent?nohass=true``, one after the other.
  Time = the client's request time.
* **(d) MQTT, real time**: ``startListening`` (stopOnSilence, a fresh sessionId per file), then the file as
  ``audioFrame``s of 64 ms at its own rate (1,024 samples at 16 kHz, 512 at 8 kHz: the ASR resamples, as
  for a telephony satellite) paced in real time, then quiet frames (rms 30) like a microphone until
  ``textCaptured`` arrives; ``--sites`` sites stream at once; the text goes to ``hermes/nlu/query``.
* **(e) whisper**: the ``faster-whisper`` engine (issue 17; bundled tiny.en, int8, beam 5, the profile's vocabulary
  as prompt, normalised text) built by the ASR service with ``asr.engine`` set to it, in a child process like
  (b); its text goes to the same NLU (fuzzy). ``whisper-beam1``: the same with ``beam_size`` 1.
  ``--whisper-options '{"cpu_threads": 2}'`` adds engine options to both.
* **(f) hybrid**: ``asr.engine`` ``hybrid``: the grammar (as (b)), and whisper (beam 5) on the utterances whose
  grammar text the NLU does not recognise (``--hybrid-options '{"min_likelihood": 0.5}'`` adds engine options).
* **(g) wyoming-whisper**: the real ``wyoming-faster-whisper`` server (the test extra) on a loopback port with the
  same bundled tiny.en (int8, beam 5, the profile's vocabulary as ``--initial-prompt``, its default 4 threads), and
  our ``wyoming`` ASR engine as its client (the text normalised by the client); CPU and peak RSS are the server's
  plus the worker's.

Figures per set and column: command acceptance (intent and every slot: ``speech_data.accepted``), in all and
for each half (``speech_data.half_of``: settings are tuned on the dev half, the held-out half checks them), texts
equal to the engine's (b); end-to-end speed = total audio seconds / total request seconds ("x real time");
request time relative to the anchor's decode time; CPU seconds per audio second (the worker process for
(a)/(b), the ASR process for (c)/(d), from /proc); peak RSS (VmHWM, reset per set via clear_refs). (d) is
real time by construction; its latency column is the last frame sent -> textCaptured.

Also: ASR grammar sizes before and after minimisation (default, coffee, and the large home profile of
../shared/bench, whose test sentences must all be accepted by the minimal word graph), and where one HTTP
request's time goes (client-side marks plus a sniffer on the broker, and the bridge's and ASR's helpers timed
in-process on the same files).

Run: PYTHONPATH=. .venv/bin/python bench/speech_bench.py [--sets coffee,coffee-6db,digits] [--limit 40]
     [--columns anchor,engine,http,mqtt,whisper,whisper-beam1] [--sites 24] [--json out.json]

Whisper against the grammar (issue 18's "which engine would reach it"): --sets coffee,coffee-6db,digits
     --columns engine,whisper,whisper-beam1 --limit 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import procs  # noqa: E402
import speech_data as sd  # noqa: E402

SETS = ("coffee", "coffee-24db", "coffee-18db", "coffee-12db", "coffee-6db", "digits", "digits-mulaw", "short")
COLUMNS = ("anchor", "engine", "http", "mqtt", "whisper", "whisper-beam1", "hybrid", "wyoming-whisper")
DEFAULT_COLUMNS = ("anchor", "engine", "http", "mqtt")
OFFLINE_COLUMNS = ("anchor", "engine", "whisper", "whisper-beam1", "hybrid", "wyoming-whisper")
COLUMN_TITLES = {"anchor": "(a) pocketsphinx whole file", "engine": "(b) engine in-process",
                 "http": "(c) mesh HTTP", "mqtt": "(d) mesh MQTT real time",
                 "whisper": "(e) faster-whisper tiny.en beam 5 + NLU", "whisper-beam1": "(e) faster-whisper beam 1",
                 "hybrid": "(f) hybrid: grammar, then whisper",
                 "wyoming-whisper": "(g) wyoming-faster-whisper server + our wyoming engine"}
WHISPER_OPTIONS = {"whisper": {"beam_size": 5}, "whisper-beam1": {"beam_size": 1}}
FRAME_SECONDS = 1024 / 16000
TRAIL_RMS = 30.0
TRAIL_MAX_SECONDS = 17.0  # the endpointer cuts at max_seconds (15 s) anyway
HOME_EXPORT = ROOT.parent / "shared" / "bench" / "nlu_bench.py"


def log(*parts: Any) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


# ---- data ---------------------------------------------------------------------------------------------------
def profile_of(set_name: str) -> str:
    return "coffee" if set_name.startswith("coffee") else "default" if set_name == "short" else "digits"


def load_set(name: str, limit: int | None) -> list[sd.Utterance]:
    """The recordings of a set (noise is mixed over all 300 files, then sampled: the same noise as a full run)."""
    if name.startswith("coffee"):
        utterances = sd.coffee_utterances()
        if name != "coffee":
            utterances = sd.noisy_coffee(utterances, float(name.split("-")[1].removesuffix("db")))
    elif name == "digits":
        utterances = sd.digit_utterances()
    elif name == "digits-mulaw":
        utterances = sd.mulaw_round_trip(sd.digit_utterances())
    elif name == "short":
        utterances = sd.short_utterances()
    else:
        raise SystemExit(f"unknown set {name!r}; choose from {', '.join(SETS)}")
    return sd.sample(utterances, limit) if limit else utterances


def audio_seconds(u: sd.Utterance) -> float:
    pcm, rate = sd.read_pcm(u.wav)
    return len(pcm) / rate


def make_profiles(work: Path) -> dict[str, Path]:
    from services.nlu.training import train_profile

    profiles = {"coffee": sd.coffee_profile(work / "coffee"), "digits": sd.digits_profile(work / "digits"),
                "default": sd.short_profile(work / "default")}
    for name, directory in profiles.items():
        started = time.perf_counter()
        train_profile(directory)
        log(f"trained the {name} profile in {time.perf_counter() - started:.2f} s")
    return profiles


# ---- results ------------------------------------------------------------------------------------------------
@dataclass
class Item:
    name: str
    audio: float
    seconds: float  # request (or decode) time
    text: str
    intent: str | None
    slots: dict[str, Any]
    ok: bool
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Run:
    set: str
    column: str
    items: list[Item]
    cpu: float  # CPU seconds of the measured process over the run
    rss_mib: float
    wall: float
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def audio(self) -> float:
        return sum(i.audio for i in self.items)

    @property
    def busy(self) -> float:
        return sum(i.seconds for i in self.items)


# ---- (a) and (b): one child process each ------------------------------------------------------------------
def offline_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Decode one set with the anchor or the engine; runs in its own process (clean CPU and RSS)."""
    from hermes.wav import to_pcm16k_mono
    from services.nlu.training import load_trained_profile

    profile = Path(spec["profile"])
    trained = load_trained_profile(profile)
    assert trained is not None
    column = spec["column"]
    if column == "wyoming-whisper":
        return wyoming_whisper_worker(spec, trained)
    decode: Callable[[bytes], str]
    if column == "anchor":
        decode = anchor_decoder(profile)
    elif column in WHISPER_OPTIONS:
        decode = engine_decoder(profile, {"engine": "faster-whisper",
                                          "engine_options": {**WHISPER_OPTIONS[column], **spec["whisper_options"]}})
    elif column == "hybrid":
        decode = engine_decoder(profile, {"engine": "hybrid", "engine_options": {
            **spec["hybrid_options"], "whisper": {**WHISPER_OPTIONS["whisper"], **spec["whisper_options"]}}})
    else:
        options = spec.get("engine_options") or {}
        decode = engine_decoder(profile, {"engine_options": options} if options else None)
    utterances = load_set(spec["set"], spec["limit"])
    converted = []
    for u in utterances:
        converted.append(to_pcm16k_mono(u.wav))  # the whole file resampled at once, as the bridge does
    decode(converted[0])  # warm-up: the first decode pays for lazily built parts
    procs.reset_peak_rss()
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    items = decode_each(utterances, converted, decode, trained)
    cpu = time.process_time() - cpu_started
    held = sum(len(p) for p in converted) / 2**20 + sum(len(u.wav) for u in utterances) / 2**20
    return asdict(Run(spec["set"], column, items, cpu, procs.peak_rss_mib(), time.perf_counter() - wall_started,
                      notes={"audio_held_mib": round(held, 1)}))


def decode_each(utterances: list[Any], converted: list[bytes], decode: Any, trained: Any) -> list[Item]:
    """Each converted utterance decoded in turn, timed, and judged by the NLU."""
    items = []
    for u, pcm in zip(utterances, converted, strict=True):
        started = time.perf_counter()
        text = decode(pcm)
        seconds = time.perf_counter() - started
        intent, slots = sd.meaning_of(trained, text)
        items.append(Item(u.name, audio_seconds(u), seconds, text, intent, slots, sd.accepted(u, intent, slots)))
    return items


def wyoming_whisper_worker(spec: dict[str, Any], trained: Any) -> dict[str, Any]:
    """Column (g): the server as its own process, our engine as its client in this one; both measured."""
    from hermes.wav import to_pcm16k_mono
    from services.asr.training import training_data_from_profile
    from services.asr.whisper_engine import vocabulary_prompt
    from tests.wyoming.wyoming_faster_whisper import wyoming_faster_whisper_server

    profile = Path(spec["profile"])
    prompt = vocabulary_prompt(training_data_from_profile(profile).vocabulary)
    utterances = load_set(spec["set"], spec["limit"])
    converted = [to_pcm16k_mono(u.wav) for u in utterances]
    with wyoming_faster_whisper_server("--initial-prompt", prompt, "--beam-size", "5", "--cpu-threads", "4") as server:
        decode = engine_decoder(profile, {"engine": "wyoming", "engine_options": {"uri": server.uri}})
        decode(converted[0])  # warm-up, as the other columns
        procs.reset_peak_rss()
        procs.reset_peak_rss(server.pid)
        wall_started = time.perf_counter()
        cpu_started = time.process_time() + procs.cpu_seconds(server.pid)
        items = decode_each(utterances, converted, decode, trained)
        cpu = time.process_time() + procs.cpu_seconds(server.pid) - cpu_started
        server_rss, client_rss = procs.peak_rss_mib(server.pid), procs.peak_rss_mib()
    return asdict(Run(spec["set"], spec["column"], items, cpu, round(server_rss + client_rss, 1),
                      time.perf_counter() - wall_started,
                      notes={"server_rss_mib": round(server_rss, 1), "client_rss_mib": round(client_rss, 1)}))


def anchor_decoder(profile: Path) -> Callable[[bytes], str]:
    """pocketsphinx with the trained FSG and dictionary, defaults otherwise; the whole utterance at once."""
    from pocketsphinx import Decoder

    from services.asr.fsg import parse_fsg
    from services.asr.pocketsphinx_engine import _model_path
    from services.asr.training import asr_work_dir, training_data_from_profile

    data = training_data_from_profile(profile, with_arpa=False)
    dictionary = asr_work_dir(profile) / "anchor-dictionary.txt"
    dictionary.parent.mkdir(parents=True, exist_ok=True)
    dictionary.write_text(data.dictionary.to_text(data.vocabulary))
    grammar = parse_fsg(data.fsg_text)
    decoder = Decoder(hmm=str(_model_path() / "en-us"), dict=str(dictionary), lm=None, bestpath=False,
                      loglevel="FATAL")
    arcs = [(s, t, p, w) if w is not None else (s, t, p) for s, t, p, w in grammar.transitions]
    decoder.add_fsg("g", decoder.create_fsg("g", grammar.start, grammar.final, arcs))
    decoder.activate_search("g")

    def decode(pcm: bytes) -> str:
        decoder.start_utt()
        decoder.process_raw(pcm, False, True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return " ".join(w for w in (hyp.hypstr.split() if hyp is not None else []))

    return decode


def asr_engine(profile: Path, override: dict[str, Any] | None = None) -> Any:
    """The ASR engine exactly as ``hermesh asr`` builds and trains it from this profile (``override``: asr
    settings over the profile's)."""
    from services.asr.service import AsrService, AsrSettings
    from services.config import load_common, load_section

    common = load_common(profile, {"profile": profile})
    settings = load_section(AsrSettings, common, "asr")
    if override:
        settings = settings.model_copy(update=override)
    service = AsrService(common, settings)
    engine = service._create_engine()
    service.engine = engine
    service._train_from_profile()
    return engine


def engine_decoder(profile: Path, override: dict[str, Any] | None = None) -> Callable[[bytes], str]:
    engine = asr_engine(profile, override)

    def decode(pcm: bytes) -> str:
        stream = engine.open_stream()
        stream.feed(pcm)
        return str(engine_text(stream.finish()))

    return decode


def engine_text(transcript: Any) -> str:
    return str(transcript.text)


def run_offline(set_name: str, column: str, profile: Path, limit: int | None,
                whisper_options: dict[str, Any] | None = None, hybrid_options: dict[str, Any] | None = None,
                engine_options: dict[str, Any] | None = None) -> Run:
    spec = {"set": set_name, "column": column, "profile": str(profile), "limit": limit,
            "whisper_options": whisper_options or {}, "hybrid_options": hybrid_options or {},
            "engine_options": engine_options or {}}
    done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                          timeout=1800, cwd=str(ROOT))
    if done.returncode != 0:
        raise RuntimeError(f"worker {spec} failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout)
    data["items"] = [Item(**i) for i in data["items"]]
    return Run(**data)


# ---- the mesh -------------------------------------------------------------------------------------------------
class Mesh:
    """Mosquitto, ``hermesh asr``, ``hermesh nlu`` and ``hermesh bridge`` for one profile."""

    def __init__(self, profile: Path, log_dir: Path, tcp_nodelay: bool = True) -> None:
        self.profile = profile
        self.tcp_nodelay = tcp_nodelay
        self.procs = procs.Processes(log_dir)
        self.http_port = 0

    def start(self) -> None:
        self.procs.start_broker(self.tcp_nodelay)
        self.procs.start_service("asr", self.profile)
        self.procs.start_service("nlu", self.profile)
        self.http_port = procs.free_port()
        self.procs.start_service("bridge", self.profile, "--http-host", "127.0.0.1", "--http-port",
                                 str(self.http_port), "--set", "wyoming=false")
        asyncio.run(self._wait_online({"asr", "nlu", "bridge"}))
        procs.wait_port(self.http_port, 30)

    @property
    def port(self) -> int:
        return self.procs.broker_port

    def pid(self, name: str) -> int:
        return self.procs.pid(name)

    async def _wait_online(self, names: set[str], timeout: float = 120.0) -> None:
        import aiomqtt

        from hermes.status import ServiceStatus

        online: set[str] = set()
        async with asyncio.timeout(timeout), aiomqtt.Client("127.0.0.1", self.port) as client:
            await client.subscribe(ServiceStatus.subscribe_filter())
            checker = asyncio.create_task(self._watch_processes())
            try:
                async for message in client.messages:
                    status = ServiceStatus.from_mqtt(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
                    if status.status == "online":
                        online.add(status.service)
                    if names <= online:
                        return
            finally:
                checker.cancel()

    async def _watch_processes(self) -> None:
        while True:
            self.procs.check_alive()
            await asyncio.sleep(0.5)

    def stop(self) -> None:
        self.procs.stop()


def bench_client(port: int, name: str) -> Any:
    """A plain MQTT client on the bench's broker, with TCP_NODELAY as our services have it
    (services/runtime/mqtt.py): without it a small publish after the audio (stopListening) waits for the
    broker's delayed ACK, and the "direct" rows showed ~30 ms that were the bench's own."""
    import socket

    import aiomqtt

    return aiomqtt.Client("127.0.0.1", port, identifier=f"{name}-{uuid.uuid4().hex[:6]}",
                          socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


class Sniffer:
    """Timestamps of the Hermes messages of the HTTP path as a broker client sees them."""

    TOPICS = ("hermes/asr/startListening", "hermes/asr/stopListening", "hermes/asr/textCaptured",
              "hermes/nlu/query", "hermes/intent/#", "hermes/nlu/intentNotRecognized", "rhasspy/asr/+/+/audioCaptured", "hermes/handle/toggleOn", "hermes/handle/toggleOff")

    def __init__(self, client: Any) -> None:
        self.client = client
        self.events: list[tuple[float, str, int, dict[str, Any] | None]] = []

    async def start(self) -> None:
        for topic in self.TOPICS:
            await self.client.subscribe(topic)

    async def run(self) -> None:
        async for message in self.client.messages:
            now = time.perf_counter()
            payload = bytes(message.payload)
            topic = str(message.topic)
            data = None
            if "audioCaptured" not in topic:
                with contextlib.suppress(ValueError):
                    data = json.loads(payload)
            self.events.append((now, topic, len(payload), data))

    def between(self, start: float, end: float) -> list[tuple[float, str, int, dict[str, Any] | None]]:
        return [e for e in self.events if start <= e[0] <= end]


HTTP_CLIENTS = ("httpx", "aiohttp")


@contextlib.asynccontextmanager
async def wav_poster(kind: str) -> Any:
    """``post(url, wav) -> (status, JSON body)`` on one kept-alive connection. The client is part of what is
    timed: on the short set httpx costs about 3 ms a request more than aiohttp (Home Assistant's and
    rhasspy-client's library), 53.7-55.7x against 55.8-58.8x real time over the same mesh (http.client:
    58.8-61.2x)."""
    if kind == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60.0)) as session:
            async def post_aiohttp(url: str, wav: bytes) -> tuple[int, Any]:
                async with session.post(url, data=wav, headers={"Content-Type": "audio/wav"}) as response:
                    return response.status, await response.json(content_type=None)

            yield post_aiohttp
        return
    import httpx

    async with httpx.AsyncClient(timeout=60.0) as http:
        async def post_httpx(url: str, wav: bytes) -> tuple[int, Any]:
            response = await http.post(url, content=wav, headers={"Content-Type": "audio/wav"})
            return response.status_code, response.json()

        yield post_httpx


async def run_http(mesh: Mesh, set_name: str, utterances: list[sd.Utterance], client_kind: str = "httpx") -> Run:
    url = f"http://127.0.0.1:{mesh.http_port}/api/speech-to-intent?nohass=true"
    asr = mesh.pid("asr")
    items: list[Item] = []
    async with wav_poster(client_kind) as post, bench_client(mesh.port, "sniffer") as client:
        sniffer = Sniffer(client)
        await sniffer.start()
        reader = asyncio.create_task(sniffer.run())
        try:
            await post(url, utterances[0].wav)  # warm-up
            await asyncio.sleep(0.2)
            procs.reset_peak_rss(asr)
            cpu = {name: procs.cpu_seconds(mesh.pid(name)) for name in ("asr", "nlu", "bridge")}
            wall = time.perf_counter()
            for index, u in enumerate(utterances):
                started = time.perf_counter()
                status, body = await post(url, u.wav)
                ended = time.perf_counter()
                if status != 200:
                    raise RuntimeError(f"{u.name}: HTTP {status}: {body}")
                intent, slots = sd.rhasspy_slots(body)
                text = str(body.get("raw_text") or "")
                item = Item(u.name, audio_seconds(u), ended - started, text, intent, slots,
                            sd.accepted(u, intent, slots))
                await asyncio.sleep(0.003)  # let the sniffer catch the audioCaptured after the reply
                item.extra = stages(sniffer.between(started, time.perf_counter()), started, ended)
                item.extra["recognize_seconds"] = float(body.get("recognize_seconds") or 0.0)
                items.append(item)
                if index % 50 == 49:
                    log(f"  http {set_name}: {index + 1}/{len(utterances)}")
            wall = time.perf_counter() - wall
            used = {name: procs.cpu_seconds(mesh.pid(name)) - cpu[name] for name in cpu}
        finally:
            reader.cancel()
    run = Run(set_name, "http", items, used["asr"], procs.peak_rss_mib(asr), wall,
              notes={"cpu_nlu": round(used["nlu"], 2), "cpu_bridge": round(used["bridge"], 2)})
    return run


def stages(events: list[tuple[float, str, int, dict[str, Any] | None]], started: float, ended: float) -> dict[str, float]:
    """Stage boundaries of one request from the sniffer's timestamps (ms after the POST was sent)."""
    marks: dict[str, float] = {}
    for at, topic, size, data in events:
        key = {"hermes/asr/startListening": "start", "hermes/asr/stopListening": "stop",
               "hermes/asr/textCaptured": "text", "hermes/nlu/query": "query",
               "hermes/nlu/intentNotRecognized": "intent", "hermes/handle/toggleOff": "toggle_off"}.get(topic)
        if topic.startswith("hermes/intent/"):
            key = "intent"
        if "audioCaptured" in topic:
            key = "audio_captured"
            marks["audio_captured_bytes"] = size
        if key and key not in marks:
            marks[key] = (at - started) * 1000
            if key == "text" and data:
                marks["decode"] = float(data.get("seconds") or 0.0) * 1000
    marks["total"] = (ended - started) * 1000
    return marks


# ---- (d) MQTT in real time -------------------------------------------------------------------------------------
class Replies:
    """textCaptured and NLU replies by sessionId."""

    def __init__(self) -> None:
        self.waiters: dict[str, asyncio.Future[Any]] = {}

    def expect(self, key: str) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiters[key] = future
        return future

    def resolve(self, key: str, value: Any) -> None:
        future = self.waiters.pop(key, None)
        if future is not None and not future.done():
            future.set_result(value)


def frames_of(u: sd.Utterance) -> tuple[list[bytes], int]:
    """The recording as 64 ms audioFrames in its own format (μ-law files as μ-law frames, as from a telephony
    satellite)."""
    from hermes.wav import g711_wav, pcm_to_wav, wav_info

    pcm, rate = sd.read_pcm(u.wav)
    step = int(round(FRAME_SECONDS * rate))
    data = pcm.tobytes()
    encoding = wav_info(u.wav).encoding
    chunks = [data[i : i + 2 * step] for i in range(0, len(data), 2 * step)]
    if encoding in ("mulaw", "alaw"):
        return [g711_wav(c, encoding, rate) for c in chunks], rate
    return [pcm_to_wav(c, rate) for c in chunks], rate


def quiet_frame(rate: int, rng: np.random.Generator) -> bytes:
    from hermes.wav import pcm_to_wav

    step = int(round(FRAME_SECONDS * rate))
    return pcm_to_wav(np.clip(rng.normal(0, TRAIL_RMS, step), -32768, 32767).astype(np.int16).tobytes(), rate)


async def run_mqtt(mesh: Mesh, set_name: str, utterances: list[sd.Utterance], sites: int) -> Run:

    from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
    from hermes.audioserver import AudioFrame
    from hermes.nlu import NluIntent, NluIntentNotRecognized, NluQuery

    asr = mesh.pid("asr")
    replies = Replies()
    results: dict[int, Item] = {}
    late = {"frames": 0, "max_ms": 0.0}

    async with bench_client(mesh.port, "bench-rx") as rx, \
            bench_client(mesh.port, "bench-tx") as tx:
        for topic in (AsrTextCaptured.TOPIC, NluIntent.subscribe_filter(), NluIntentNotRecognized.TOPIC):
            await rx.subscribe(topic)

        async def receive() -> None:
            async for message in rx.messages:
                now, topic, payload = time.perf_counter(), str(message.topic), bytes(message.payload)  # type: ignore[arg-type]
                if topic == AsrTextCaptured.TOPIC:
                    captured = AsrTextCaptured.from_payload(payload)
                    replies.resolve("text:" + (captured.session_id or ""), (now, captured))
                elif topic == NluIntentNotRecognized.TOPIC:
                    miss = NluIntentNotRecognized.from_payload(payload)
                    replies.resolve("nlu:" + (miss.session_id or ""), None)
                elif NluIntent.is_topic(topic):
                    intent = NluIntent.from_mqtt(topic, payload)
                    replies.resolve("nlu:" + (intent.session_id or ""), intent)

        async def site(index: int, queue: list[int]) -> None:
            site_id = f"bench{index}"
            rng = np.random.default_rng(index)
            await asyncio.sleep(index * FRAME_SECONDS / sites)  # spread the sites over a frame
            for position in queue:
                u = utterances[position]
                frames, rate = frames_of(u)
                quiet = quiet_frame(rate, rng)
                session = uuid.uuid4().hex
                text_future = replies.expect("text:" + session)
                await tx.publish(AsrStartListening.TOPIC, AsrStartListening(
                    site_id=site_id, session_id=session, stop_on_silence=True).payload())
                topic = AudioFrame.format_topic(site_id=site_id)
                first = next_at = time.perf_counter()
                sent: list[float] = []
                trail = int(TRAIL_MAX_SECONDS / FRAME_SECONDS)
                count = 0
                for count in range(len(frames) + trail):
                    if text_future.done():
                        break
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    elif delay < -0.1:
                        late["frames"] += 1
                        late["max_ms"] = max(late["max_ms"], -delay * 1000)
                    await tx.publish(topic, frames[count] if count < len(frames) else quiet)
                    sent.append(time.perf_counter())
                    next_at += FRAME_SECONDS
                if not text_future.done():
                    await tx.publish(AsrStopListening.TOPIC,
                                     AsrStopListening(site_id=site_id, session_id=session).payload())
                try:
                    arrived, captured = await asyncio.wait_for(text_future, 30.0)
                    text = captured.text
                except TimeoutError:
                    arrived, text = time.perf_counter(), ""
                intent, slots = None, {}
                if text.strip():
                    nlu_future = replies.expect("nlu:" + session)
                    await tx.publish(NluQuery.TOPIC, NluQuery(input=text, site_id=site_id, id=session,
                                                              session_id=session).payload())
                    with contextlib.suppress(TimeoutError):
                        answer = await asyncio.wait_for(nlu_future, 30.0)
                        if answer is not None:
                            intent = answer.intent_name
                            slots = {s.slot_name: s.raw_value for s in answer.slots or []}
                last_sent = max((t for t in sent if t <= arrived), default=first)
                results[position] = Item(u.name, audio_seconds(u), arrived - first, text, intent, slots,
                                         sd.accepted(u, intent, slots),
                                         extra={"latency_ms": (arrived - last_sent) * 1000,
                                                "frames_after_file": max(0, count - len(frames))})
                if len(results) % 50 == 0:
                    log(f"  mqtt {set_name}: {len(results)}/{len(utterances)}")

        receiver = asyncio.create_task(receive())
        try:
            procs.reset_peak_rss(asr)
            cpu = {name: procs.cpu_seconds(mesh.pid(name)) for name in ("asr", "nlu", "bridge")}
            wall = time.perf_counter()
            queues = [list(range(i, len(utterances), sites)) for i in range(sites)]
            await asyncio.gather(*(site(i, q) for i, q in enumerate(queues) if q))
            wall = time.perf_counter() - wall
            used = {name: procs.cpu_seconds(mesh.pid(name)) - cpu[name] for name in cpu}
        finally:
            receiver.cancel()
    items = [results[i] for i in range(len(utterances))]
    return Run(set_name, "mqtt", items, used["asr"], procs.peak_rss_mib(asr), wall,
               notes={"sites": sites, "late_frames": late["frames"], "late_max_ms": round(late["max_ms"], 1),
                      "cpu_nlu": round(used["nlu"], 2), "cpu_bridge": round(used["bridge"], 2)})


# ---- item 5: where an HTTP request's time goes ------------------------------------------------------------------
def helper_timings(utterances: list[sd.Utterance]) -> dict[str, list[float]]:
    """The bridge's and the ASR's per-request helpers, timed in-process on the same files (ms per request)."""
    from bridge.mesh_client import SESSION_FRAME_SAMPLES
    from hermes.asr import AsrAudioCaptured, AsrStartListening, AsrTextCaptured
    from hermes.audio_stream import PcmStream
    from hermes.audioserver import AudioSessionFrame
    from hermes.rhasspy_json import intent_to_rhasspy
    from hermes.wav import pcm_to_wav, to_pcm16k_mono, wav_chunks

    out: dict[str, list[float]] = {k: [] for k in ("bridge_wav_to_pcm16k", "bridge_chunk_messages",
                                                   "bridge_remember_recording_wav", "asr_parse_frames",
                                                   "asr_convert_frames", "asr_audio_captured_wav",
                                                   "bridge_parse_audio_captured", "bridge_intent_json")}
    from hermes.nlu import Intent, NluIntent, Slot

    for u in utterances:
        t = time.perf_counter()
        pcm = to_pcm16k_mono(u.wav)
        out["bridge_wav_to_pcm16k"].append(time.perf_counter() - t)
        t = time.perf_counter()
        messages = [AsrStartListening(site_id="s", session_id="x", send_audio_captured=True)]
        frames = [AudioSessionFrame(site_id="s", session_id="x", wav_bytes=c) for c in wav_chunks(pcm, SESSION_FRAME_SAMPLES)]
        wire = [(m.topic(), m.payload()) for m in [*messages, *frames]]
        out["bridge_chunk_messages"].append(time.perf_counter() - t)
        t = time.perf_counter()
        pcm_to_wav(pcm)
        out["bridge_remember_recording_wav"].append(time.perf_counter() - t)
        t = time.perf_counter()
        parsed = [AudioSessionFrame.from_mqtt(topic, payload) for topic, payload in wire[1:]]
        out["asr_parse_frames"].append(time.perf_counter() - t)
        converter = PcmStream()
        t = time.perf_counter()
        for frame in parsed:
            converter.wav(frame.wav_bytes)
        out["asr_convert_frames"].append(time.perf_counter() - t)
        t = time.perf_counter()
        captured_wav = pcm_to_wav(pcm)
        captured_message = AsrAudioCaptured(site_id="s", session_id="x", wav_bytes=captured_wav)
        payload = captured_message.payload()
        out["asr_audio_captured_wav"].append(time.perf_counter() - t)
        t = time.perf_counter()
        AsrAudioCaptured.from_mqtt(captured_message.topic(), payload)
        out["bridge_parse_audio_captured"].append(time.perf_counter() - t)
        intent = NluIntent(input="a small coffee", intent=Intent(intent_name="orderDrink", confidence_score=1.0),
                           site_id="s", session_id="x",
                           slots=[Slot(entity="size", value={"value": "small"}, slot_name="size", raw_value="small",
                                       confidence=1.0)])
        t = time.perf_counter()
        json.dumps(intent_to_rhasspy(intent, raw_text="a small coffee")).encode()
        AsrTextCaptured(text="a small coffee", likelihood=1.0, seconds=0.01, site_id="s", session_id="x").payload()
        out["bridge_intent_json"].append(time.perf_counter() - t)
    return {k: [v * 1000 for v in values] for k, values in out.items()}


async def direct_asr(mesh: Mesh, utterances: list[sd.Utterance], send_audio_captured: bool) -> dict[str, Any]:
    """The bridge's transcribe sequence from a plain client, straight to the ASR (no bridge): ms per request."""

    from bridge.mesh_client import SESSION_FRAME_SAMPLES
    from hermes.asr import AsrStartListening, AsrStopListening, AsrTextCaptured
    from hermes.audioserver import AudioSessionFrame
    from hermes.wav import to_pcm16k_mono, wav_chunks

    totals, after_stop, decode, captured_at = [], [], [], []
    asr = mesh.pid("asr")
    async with bench_client(mesh.port, "direct") as client:
        await client.subscribe(AsrTextCaptured.TOPIC)
        await client.subscribe("rhasspy/asr/+/+/audioCaptured")
        cpu = procs.cpu_seconds(asr)
        for u in utterances:
            session = uuid.uuid4().hex
            pcm = to_pcm16k_mono(u.wav)
            wire = [(AsrStartListening.TOPIC, AsrStartListening(site_id="direct", session_id=session,
                                                               send_audio_captured=send_audio_captured).payload())]
            for chunk in wav_chunks(pcm, SESSION_FRAME_SAMPLES):
                frame = AudioSessionFrame(site_id="direct", session_id=session, wav_bytes=chunk)
                wire.append((frame.topic(), frame.payload()))
            wire.append((AsrStopListening.TOPIC, AsrStopListening(site_id="direct", session_id=session).payload()))
            started = time.perf_counter()
            for topic, payload in wire:
                await client.publish(topic, payload)
            stopped = time.perf_counter()
            got_text = None
            async with asyncio.timeout(30):
                async for message in client.messages:
                    topic = str(message.topic)
                    if topic == AsrTextCaptured.TOPIC:
                        captured = AsrTextCaptured.from_payload(bytes(message.payload))  # type: ignore[arg-type]
                        if captured.session_id == session:
                            got_text = time.perf_counter()
                            decode.append(captured.seconds * 1000)
                            if not send_audio_captured:
                                break
                    elif "audioCaptured" in topic and session in topic and got_text is not None:
                        captured_at.append((time.perf_counter() - got_text) * 1000)
                        break
            assert got_text is not None
            totals.append((got_text - started) * 1000)
            after_stop.append((got_text - stopped) * 1000)
        cpu = procs.cpu_seconds(asr) - cpu
    return {"total_ms": totals, "stop_to_text_ms": after_stop, "decode_ms": decode,
            "audio_captured_after_text_ms": captured_at, "asr_cpu_ms_per_request": cpu * 1000 / len(utterances)}


async def http_baselines(mesh: Mesh, texts: list[str]) -> dict[str, list[float]]:
    """Client-side ms of GET /api/version and POST /api/text-to-intent?nohass=true (same texts)."""
    import httpx

    base = f"http://127.0.0.1:{mesh.http_port}"
    out: dict[str, list[float]] = {"version": [], "text_to_intent": []}
    async with httpx.AsyncClient(timeout=30.0) as http:
        for text in texts:
            started = time.perf_counter()
            (await http.get(base + "/api/version")).raise_for_status()
            out["version"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            (await http.post(base + "/api/text-to-intent?nohass=true", content=text.encode())).raise_for_status()
            out["text_to_intent"].append((time.perf_counter() - started) * 1000)
    return out


async def direct_nlu(mesh: Mesh, texts: list[str]) -> list[float]:

    from hermes.nlu import NluIntent, NluIntentNotRecognized, NluQuery

    times = []
    async with bench_client(mesh.port, "nlu") as client:
        await client.subscribe(NluIntent.subscribe_filter())
        await client.subscribe(NluIntentNotRecognized.TOPIC)
        for text in texts:
            session = uuid.uuid4().hex
            started = time.perf_counter()
            await client.publish(NluQuery.TOPIC, NluQuery(input=text, site_id="direct", id=session,
                                                          session_id=session).payload())
            async with asyncio.timeout(30):
                async for message in client.messages:
                    if session.encode() in bytes(message.payload):  # type: ignore[arg-type]
                        break
            times.append((time.perf_counter() - started) * 1000)
    return times


def ms_summary(values: list[float]) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.fmean(values):.2f} / {p95:.2f}"


def breakdown(run: Run, helpers: dict[str, list[float]], direct: dict[str, dict[str, Any]],
              nlu: list[float], http: dict[str, list[float]]) -> list[tuple[str, str, str]]:
    """Rows (stage, mean / p95 ms, how it is measured)."""
    marks = [i.extra for i in run.items if {"start", "stop", "text", "query", "intent"} <= set(i.extra)]

    def col(f: Callable[[dict[str, float]], float]) -> str:
        return ms_summary([f(m) for m in marks])

    h = helpers
    rows = [
        ("whole request (client)", col(lambda m: m["total"]), "client: POST sent -> response read"),
        ("  POST -> startListening on the broker", col(lambda m: m["start"]),
         "HTTP receive, WAV -> 16 kHz PCM, building the chunk messages, recording WAV, handle/toggleOff"),
        ("    of which WAV -> 16 kHz PCM (to_pcm16k_mono)", ms_summary(h["bridge_wav_to_pcm16k"]), "in-process, same files"),
        ("    of which chunk messages (wav_chunks, payloads)", ms_summary(h["bridge_chunk_messages"]), "in-process"),
        ("    of which remember_recording(pcm_to_wav)", ms_summary(h["bridge_remember_recording_wav"]), "in-process"),
        ("  startListening -> stopListening", col(lambda m: m["stop"] - m["start"]),
         "the bridge publishing the 4,096-sample audioSessionFrames"),
        ("  stopListening -> textCaptured", col(lambda m: m["text"] - m["stop"]),
         "ASR: frames still queued, parse + convert, decode, publish"),
        ("    of which decode (textCaptured.seconds)", col(lambda m: m.get("decode", 0.0)), "the ASR's own figure"),
        ("    ASR parse frames (from_mqtt)", ms_summary(h["asr_parse_frames"]), "in-process, same chunks"),
        ("    ASR convert frames (PcmStream)", ms_summary(h["asr_convert_frames"]), "in-process, same chunks"),
        ("  textCaptured -> nlu/query", col(lambda m: m["query"] - m["text"]), "bridge: reply matching, NluQuery"),
        ("  nlu/query -> intent", col(lambda m: m["intent"] - m["query"]), "NLU service: parse, recognise, publish"),
        ("  intent -> response read", col(lambda m: m["total"] - m["intent"]),
         "bridge: handle/toggleOn, Rhasspy JSON, HTTP response"),
        ("    of which intent JSON + textCaptured payload", ms_summary(h["bridge_intent_json"]), "in-process"),
        ("  audioCaptured seen after textCaptured", col(lambda m: m.get("audio_captured", m["text"]) - m["text"]),
         f"sendAudioCaptured=True: the whole utterance back as WAV "
         f"({statistics.fmean([m.get('audio_captured_bytes', 0) for m in marks]) / 1024:.0f} KiB mean)"),
        ("    ASR: pcm_to_wav + payload of it", ms_summary(h["asr_audio_captured_wav"]), "in-process"),
        ("    bridge: parse of it", ms_summary(h["bridge_parse_audio_captured"]), "in-process"),
    ]
    for flag, d in direct.items():
        rows.append((f"direct MQTT transcribe, sendAudioCaptured={flag}: start -> textCaptured",
                     ms_summary(d["total_ms"]), f"plain client -> ASR, no bridge; ASR CPU "
                     f"{d['asr_cpu_ms_per_request']:.1f} ms/request"))
        rows.append((f"  stopListening -> textCaptured (sendAudioCaptured={flag})", ms_summary(d["stop_to_text_ms"]),
                     f"decode {ms_summary(d['decode_ms'])}"))
    rows.append(("direct MQTT nlu/query -> intent", ms_summary(nlu), "plain client -> NLU, same texts"))
    rows.append(("GET /api/version", ms_summary(http["version"]), "client: the bridge's HTTP floor"))
    rows.append(("POST /api/text-to-intent?nohass=true", ms_summary(http["text_to_intent"]),
                 "client: HTTP + toggles + NLU round trip, same texts"))
    rows.append(("recognize_seconds in the Rhasspy JSON", ms_summary([i.extra.get("recognize_seconds", 0) * 1000
                                                                      for i in run.items]), "the bridge's NLU round trip"))
    return rows


# ---- grammar sizes ---------------------------------------------------------------------------------------------
def grammar_sizes(work: Path, profiles: dict[str, Path]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from services.nlu.exports import flatten, word_graph
    from services.nlu.training import compile_profile

    default = profiles["default"]
    home = work / "home"
    check: dict[str, Any] = {}
    chosen = [("default", default), ("coffee", profiles["coffee"]), ("digits", profiles["digits"])]
    try:
        subprocess.run([sys.executable, str(HOME_EXPORT), "export", str(home)], check=True, capture_output=True,
                       timeout=300)
        chosen.append(("large home (../shared/bench)", home))
    except (subprocess.SubprocessError, OSError) as err:
        log(f"large home profile not exported: {err}")
    rows = []
    for name, directory in chosen:
        started = time.perf_counter()
        graph = compile_profile(directory)
        flat, _start, _final, _starts = flatten(graph)
        minimal = word_graph(graph)
        row = {"profile": name, "before_states": flat.n, "before_transitions": len(flat.words) + len(flat.eps),
               "after_states": minimal.num_states + 1, "after_transitions": minimal.num_arcs + len(minimal.accepting),
               "seconds": round(time.perf_counter() - started, 2)}
        rows.append(row)
        if directory == home:
            tests = [json.loads(line) for line in (home / "test_sentences.jsonl").read_text().splitlines() if line]
            rejected = [t["text"] for t in tests if not minimal.accepts(t["text"].lower().split())]
            check = {"sentences": len(tests), "accepted": len(tests) - len(rejected), "rejected": rejected[:5]}
    return rows, check


# ---- report ----------------------------------------------------------------------------------------------------
def summary(run: Run, anchor: Run | None, engine_texts: dict[str, str] | None) -> dict[str, Any]:
    n = len(run.items)
    ok = sum(i.ok for i in run.items)
    row: dict[str, Any] = {"set": run.set, "column": run.column, "files": n, "accepted": ok,
                           "acceptance": round(ok / n, 4) if n else 0.0, "audio_s": round(run.audio, 1),
                           "empty": sum(1 for i in run.items if not i.text.strip()),
                           **{f"{half}_accepted": [sum(i.ok for i in items), len(items)]
                              for half, items in _halves(run.items).items()},
                           "cpu_per_audio_s": round(run.cpu / run.audio, 4) if run.audio else None,
                           "rss_mib": round(run.rss_mib, 1), "wall_s": round(run.wall, 1), **run.notes}
    if run.column != "mqtt":
        row["x_real_time"] = round(run.audio / run.busy, 1) if run.busy else None
        if anchor is not None and anchor.busy:
            row["time_vs_anchor"] = round(run.busy / anchor.busy, 2)
    else:
        latencies = sorted(i.extra["latency_ms"] for i in run.items)
        row["latency_ms_p50"] = round(latencies[len(latencies) // 2], 1)
        row["latency_ms_p95"] = round(latencies[min(n - 1, round(0.95 * (n - 1)))], 1)
    if engine_texts is not None and run.column != "engine":
        row["same_text_as_engine"] = sum(1 for i in run.items if engine_texts.get(i.name) == i.text)
    return row


def _halves(items: list[Item]) -> dict[str, list[Item]]:
    """The run's files by half (``speech_data.half_of``): tune on dev, check on held."""
    return {half: [i for i in items if sd.half_of(i.name) == half] for half in ("dev", "held")}


def _share(pair: list[int]) -> str:
    return f"{pair[0]}/{pair[1]} ({100 * pair[0] / pair[1]:.1f} %)" if pair[1] else "–"


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n| set | column | accepted | dev half | held-out half | = engine text | empty | x real time | time / anchor | CPU s per audio s "
          "| RSS MiB | latency p50/p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        same = f"{r['same_text_as_engine']}/{r['files']}" if "same_text_as_engine" in r else "–"
        rt = f"{r['x_real_time']}×" if r.get("x_real_time") else "real time"
        ratio = f"{r['time_vs_anchor']}" if "time_vs_anchor" in r else "–"
        latency = f"{r['latency_ms_p50']} / {r['latency_ms_p95']}" if "latency_ms_p50" in r else "–"
        print(f"| {r['set']} | {COLUMN_TITLES[r['column']]} | {r['accepted']}/{r['files']} "
              f"({100 * r['acceptance']:.1f} %) | {_share(r['dev_accepted'])} | {_share(r['held_accepted'])} | {same} | {r['empty']} | {rt} | {ratio} | {r['cpu_per_audio_s']} "
              f"| {r['rss_mib']} | {latency} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma list of: {', '.join(SETS)}")
    parser.add_argument("--columns", default=",".join(DEFAULT_COLUMNS), help=f"comma list of: {', '.join(COLUMNS)}")
    parser.add_argument("--whisper-options", type=json.loads, default={},
                        help="JSON engine options over the whisper columns' (e.g. '{\"cpu_threads\": 2}')")
    parser.add_argument("--hybrid-options", type=json.loads, default={},
                        help="JSON engine options of the hybrid column (e.g. '{\"min_likelihood\": 0.5}')")
    parser.add_argument("--engine-options", type=json.loads, default={},
                        help="JSON pocketsphinx engine options of the engine column, in place of the profile's "
                             "(e.g. '{\"narrowband_fill_db\": null}' or '{\"decoder\": {\"topn\": 2}}'): "
                             "how the defaults were chosen")
    parser.add_argument("--limit", type=int, default=None, help="at most N files per set (every k-th)")
    parser.add_argument("--sites", type=int, default=24, help="concurrent sites in the MQTT real-time column")
    parser.add_argument("--breakdown", type=int, default=60,
                        help="files of --breakdown-set for the HTTP time breakdown (0: skip)")
    parser.add_argument("--breakdown-set", default="coffee", choices=("coffee", "short"),
                        help="the clean set whose requests the breakdown times (short: the default profile)")
    parser.add_argument("--client", default="httpx", choices=HTTP_CLIENTS,
                        help="the HTTP client of the mesh HTTP column (aiohttp: Home Assistant's)")
    parser.add_argument("--nagle", action="store_true",
                        help="run Mosquitto without set_tcp_nodelay (its default; ours sets it, see mosquitto/)")
    parser.add_argument("--no-grammar", action="store_true", help="skip the grammar sizes")
    parser.add_argument("--json", type=Path, help="write every figure (and every file's result) here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(offline_worker(json.loads(args.worker))))
        return
    sets = [s for s in args.sets.split(",") if s]
    columns = [c for c in args.columns.split(",") if c]
    for name in sets:
        if name not in SETS:
            raise SystemExit(f"unknown set {name!r}; choose from {', '.join(SETS)}")
    for name in columns:
        if name not in COLUMNS:
            raise SystemExit(f"unknown column {name!r}; choose from {', '.join(COLUMNS)}")
    began = time.perf_counter()
    report: dict[str, Any] = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="hermesh-speech-bench-") as tmp:
        work = Path(tmp)
        profiles = make_profiles(work)
        if not args.no_grammar:
            log("grammar sizes ...")
            rows, check = grammar_sizes(work, profiles)
            report["grammar"], report["home_check"] = rows, check
        runs: dict[tuple[str, str], Run] = {}
        for set_name in sets:
            for column in OFFLINE_COLUMNS:
                if column in columns:
                    log(f"{column} on {set_name} ...")
                    runs[(set_name, column)] = run_offline(set_name, column, profiles[profile_of(set_name)], args.limit,
                                                           args.whisper_options, args.hybrid_options,
                                                           args.engine_options)
        for profile_name in ("coffee", "digits", "default"):
            mine = [s for s in sets if profile_of(s) == profile_name]
            want_breakdown = profile_name == profile_of(args.breakdown_set) and "http" in columns and args.breakdown > 0
            if not mine or not ({"http", "mqtt"} & set(columns)):
                continue
            log(f"starting the mesh for the {profile_name} profile ...")
            mesh = Mesh(profiles[profile_name], work / f"logs-{profile_name}", not args.nagle)
            mesh.procs.log_dir.mkdir()
            try:
                mesh.start()
                for set_name in mine:
                    utterances = load_set(set_name, args.limit)
                    if "http" in columns:
                        log(f"http on {set_name} ({len(utterances)} files) ...")
                        runs[(set_name, "http")] = asyncio.run(run_http(mesh, set_name, utterances, args.client))
                    if "mqtt" in columns:
                        log(f"mqtt on {set_name} ({len(utterances)} files, {args.sites} sites) ...")
                        runs[(set_name, "mqtt")] = asyncio.run(run_mqtt(mesh, set_name, utterances, args.sites))
                if want_breakdown:
                    log("HTTP time breakdown ...")
                    sample = sd.sample(load_set(args.breakdown_set, None), args.breakdown)
                    run = asyncio.run(run_http(mesh, args.breakdown_set, sample, args.client))
                    helpers = helper_timings(sample)
                    direct = {str(flag): asyncio.run(direct_asr(mesh, sample, flag)) for flag in (True, False)}
                    nlu = asyncio.run(direct_nlu(mesh, [i.text for i in run.items if i.text]))
                    http = asyncio.run(http_baselines(mesh, [i.text for i in run.items if i.text]))
                    report["breakdown"] = breakdown(run, helpers, direct, nlu, http)
                    report["breakdown_files"] = len(sample)
                    report["breakdown_set"] = args.breakdown_set
            finally:
                mesh.stop()
        rows = []
        for set_name in sets:
            engine = runs.get((set_name, "engine"))
            texts = {i.name: i.text for i in engine.items} if engine else None
            for column in columns:
                if (set_name, column) in runs:
                    rows.append(summary(runs[(set_name, column)], runs.get((set_name, "anchor")), texts))
        report["table"] = rows
        report["files"] = {f"{s}/{c}": [asdict(i) for i in r.items] for (s, c), r in runs.items()}
    print_report(report)
    report["total_seconds"] = round(time.perf_counter() - began, 1)
    print(f"\ntotal bench time {report['total_seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str) + "\n")


def print_report(report: dict[str, Any]) -> None:
    if "grammar" in report:
        print("\nASR grammar (FSG) before and after determinising and minimising the word graph\n")
        print("| profile | states before | transitions before | states after | transitions after |")
        print("|---|---|---|---|---|")
        for g in report["grammar"]:
            print(f"| {g['profile']} | {g['before_states']:,} | {g['before_transitions']:,} | {g['after_states']:,} "
                  f"| {g['after_transitions']:,} |")
        check = report.get("home_check")
        if check:
            print(f"\nlarge home profile: the minimal word graph accepts {check['accepted']}/{check['sentences']} "
                  f"test sentences{' (rejected e.g. ' + repr(check['rejected']) + ')' if check['rejected'] else ''}")
    print_table(report["table"])
    if "breakdown" in report:
        print(f"\nWhere one /api/speech-to-intent request spends its time ({report['breakdown_files']} files of "
              f"the {report['breakdown_set']} set; ms, mean / p95)\n")
        print("| stage | ms mean / p95 | measured as |")
        print("|---|---|---|")
        for stage, value, how in report["breakdown"]:
            print(f"| {stage} | {value} | {how} |")


if __name__ == "__main__":
    main()

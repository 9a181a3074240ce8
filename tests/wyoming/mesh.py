"""The mesh the Wyoming tests run against: the real ASR service plus Hermes peers for what is not built yet.

The ASR is the real AsrService (pocketsphinx) trained with the hand-written lights grammar. TTS, wake,
dialogue manager, NLU and intent handler are the real services when their modules exist
(``services.<x>.service``); otherwise a scripted peer plays that role on the broker, built on real
engines where one exists (espeak-ng for TTS, pocketsphinx keyword spotting for wake).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bridge.wyoming.server import WyomingServer
from bridge.wyoming.settings import WyomingSettings
from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.audioserver import AudioFrame, AudioPlayBytes, AudioPlayFinished
from hermes.dialogue import (
    DialogueEndSession,
    DialogueSessionEnded,
    DialogueSessionStarted,
    DialogueSessionTermination,
    DialogueSessionTerminationReason,
    DialogueStartSession,
)
from hermes.handle import HandleToggleOff, HandleToggleOn
from hermes.hotword import GetHotwords, HotwordDetected, HotwordModel, Hotwords
from hermes.nlu import Intent, NluIntent, NluIntentNotRecognized, NluQuery, Slot
from hermes.tts import GetVoices, TtsSay, TtsSayFinished, Voice, Voices
from services.asr.engine import AsrTrainingData
from services.asr.fsg import parse_fsg
from services.asr.service import AsrService
from services.config import CommonSettings
from services.phonetics import pronunciations_for
from services.runtime import HermesService, handles
from tests.asr.grammar import LIGHTS_FSG

WAKE_PHRASE = "bumblebee"  # pocketsphinx spots espeak's "bumblebee" reliably (tests/wake/speech.py)

# What the scripted NLU understands: text -> (intent, slots).
INTENTS: dict[str, tuple[str, dict[str, str]]] = {
    "turn on the kitchen light": ("ChangeLightState", {"name": "kitchen light", "state": "on"}),
    "turn on kitchen light": ("ChangeLightState", {"name": "kitchen light", "state": "on"}),
    "turn off the garage light": ("ChangeLightState", {"name": "garage light", "state": "off"}),
    "turn off garage light": ("ChangeLightState", {"name": "garage light", "state": "off"}),
    "what time is it": ("GetTime", {}),
    "stay silent": ("Silent", {}),
}


# The same intents as a profile, for the real NLU (and the ASR trained from its graph).
SENTENCES = """[ChangeLightState]
light_name = (kitchen light | garage light | living room lamp | bedroom light) {name}
light_state = (on | off) {state}
turn <light_state> [the] <light_name>

[GetTime]
what time is it

[Silent]
stay silent
"""


def train_profile(profile: Path) -> bool:
    """Write SENTENCES into the profile and train it with the real NLU; False when that is not available."""
    try:
        from services.nlu.training import train_profile as nlu_train
    except ImportError:
        return False
    for old in (profile / "intents").glob("*.ini") if (profile / "intents").is_dir() else []:
        old.unlink()
    (profile / "sentences.ini").write_text(SENTENCES, encoding="utf-8")
    nlu_train(profile)
    return True


def reply_for(intent: NluIntent) -> str:
    slots = {s.slot_name: s.value.get("value") for s in intent.slots or []}
    if intent.intent.intent_name == "ChangeLightState":
        return f"Turning {slots.get('state')} the {slots.get('name')}"
    return "It is twelve o'clock"


class GrammarAsrService(AsrService):
    """The real ASR service, trained from the hand-written lights grammar instead of the NLU's graph."""

    def _train_from_profile(self) -> None:
        vocabulary = sorted(parse_fsg(LIGHTS_FSG).words())
        prons = pronunciations_for(vocabulary)
        self._train(AsrTrainingData(vocabulary=vocabulary, fsg_text=LIGHTS_FSG, dictionary=prons.dictionary,
                                    guessed=prons.guessed))
        self.trained_stamp = self._stamp()


class WyomingHost(HermesService):  # type: ignore[type-arg]
    """A plain service hosting the Wyoming server, as the bridge does."""

    name = "wyoming-test"


def real_service(module: str, cls: str) -> type[HermesService[Any]] | None:
    try:
        return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return None


REAL = {
    "tts": ("services.tts.service", "TtsService"),
    "wake": ("services.wake.service", "WakeService"),
    "dialogue": ("services.dialogue.service", "DialogueService"),
}


class ScriptedPeers(HermesService):  # type: ignore[type-arg]
    """Plays the roles in ``roles`` (nlu, handler, tts, wake, dialogue) on the broker."""

    name = "scripted-peers"

    def __init__(self, common: CommonSettings, roles: set[str]) -> None:
        super().__init__(common)
        self.roles = roles
        self.handling_off: set[str] = set()
        self.handled: list[NluIntent] = []
        self.detectors: dict[str, Any] = {}
        self.queries: list[NluQuery] = []

    async def setup(self) -> None:
        self.tts = self.wake = None
        if "tts" in self.roles:
            from services.engine_loader import load_engine

            self.tts = load_engine("tts", "espeak", {}, profile_dir=Path("."))
        if "wake" in self.roles:
            from services.engine_loader import load_engine

            self.wake = await self.run_blocking(lambda: load_engine(
                "wake", "pocketsphinx", {"phrases": [{"phrase": WAKE_PHRASE}]}, profile_dir=self.profile))

    # ---- NLU ----------------------------------------------------------------------------------------------
    @handles(NluQuery)
    async def on_query(self, query: NluQuery) -> Any:
        if "nlu" not in self.roles:
            return
        self.queries.append(query)
        found = INTENTS.get(" ".join(query.input.lower().split()))
        if found is None:
            yield NluIntentNotRecognized(input=query.input, site_id=query.site_id, id=query.id,
                                         session_id=query.session_id, custom_data=query.custom_data)
            return
        name, slots = found
        yield NluIntent(input=query.input, intent=Intent(intent_name=name, confidence_score=1.0),
                        site_id=query.site_id, id=query.id, session_id=query.session_id,
                        custom_data=query.custom_data,
                        slots=[Slot(entity=k, slot_name=k, value={"kind": "Unknown", "value": v}, raw_value=v)
                               for k, v in slots.items()])

    # ---- intent handler (Rhasspy style: says the answer; GetTime ends the session instead) ----------------
    @handles(HandleToggleOff, all_sites=True)
    async def on_handle_off(self, message: HandleToggleOff) -> None:
        self.handling_off.add(message.site_id)

    @handles(HandleToggleOn, all_sites=True)
    async def on_handle_on(self, message: HandleToggleOn) -> None:
        self.handling_off.discard(message.site_id)

    @handles(NluIntent)
    async def on_intent(self, intent: NluIntent) -> Any:
        if "handler" not in self.roles or intent.site_id in self.handling_off:
            return
        self.handled.append(intent)
        if intent.intent.intent_name == "Silent":
            return
        if intent.intent.intent_name == "GetTime" and intent.session_id:
            yield DialogueEndSession(session_id=intent.session_id, text=reply_for(intent))
            return
        yield TtsSay(text=reply_for(intent), site_id=intent.site_id, session_id=intent.session_id,
                     id=uuid.uuid4().hex)

    # ---- TTS ------------------------------------------------------------------------------------------------
    @handles(GetVoices)
    async def on_get_voices(self, message: GetVoices) -> Any:
        if self.tts is not None:
            voices = await self.run_blocking(self.tts.voices)
            yield Voices(voices=[Voice(voice_id=v.voice_id, description=v.description) for v in voices],
                         id=message.id, site_id=message.site_id)

    @handles(TtsSay)
    async def on_say(self, say: TtsSay) -> None:
        if self.tts is None:
            return
        wav = await self.run_blocking(self.tts.synthesize, say.text, None, say.lang)
        request_id = say.id or uuid.uuid4().hex
        self.spawn(self._play(say, request_id, wav))

    async def _play(self, say: TtsSay, request_id: str, wav: bytes) -> None:
        finished = self.expect(AudioPlayFinished, match=lambda m: m.id == request_id)
        await self.subscribe_extra(AudioPlayFinished.subscribe_filter())
        await self.publish(AudioPlayBytes(site_id=say.site_id, request_id=request_id, wav_bytes=wav))
        with contextlib.suppress(Exception):
            await finished.wait(30.0)
        await self.publish(TtsSayFinished(site_id=say.site_id, id=say.id, session_id=say.session_id))

    # ---- wake -------------------------------------------------------------------------------------------
    @handles(GetHotwords)
    async def on_get_hotwords(self, message: GetHotwords) -> Any:
        if self.wake is not None:
            yield Hotwords(models=[HotwordModel(model_id=m.model_id, model_words=m.words) for m in self.wake.models],
                           id=message.id, site_id=message.site_id)

    @handles(AudioFrame)
    async def on_frame(self, frame: AudioFrame) -> Any:
        if self.wake is None:
            return
        from hermes.wav import to_pcm16k_mono

        detector = self.detectors.get(frame.site_id)
        if detector is None:
            detector = self.detectors[frame.site_id] = self.wake.new_detector()
        for hit in await self.run_blocking(detector.process, to_pcm16k_mono(frame.wav_bytes)):
            detector.reset()
            yield HotwordDetected(model_id=hit.model.model_id, wakeword_id=hit.model.wakeword_id,
                                  site_id=frame.site_id)

    # ---- dialogue manager (only for rooms, not for the Wyoming server's own connection sites) ------------
    @handles(HotwordDetected)
    async def on_detected(self, message: HotwordDetected) -> None:
        if "dialogue" in self.roles and not message.site_id.startswith("wyoming-"):
            self.spawn(self._session(message.site_id, message.wakeword_id))

    @handles(DialogueStartSession)
    async def on_start_session(self, message: DialogueStartSession) -> None:
        if "dialogue" in self.roles:
            self.spawn(self._session(message.site_id, None))

    async def _session(self, site_id: str, wakeword_id: str | None) -> None:
        session_id = uuid.uuid4().hex
        await self.subscribe_extra(AsrTextCaptured.subscribe_filter())
        await self.subscribe_extra(TtsSayFinished.subscribe_filter())
        await self.subscribe_extra("hermes/intent/#")
        text = self.expect(AsrTextCaptured, match=lambda m: m.session_id == session_id)
        await self.publish(DialogueSessionStarted(session_id=session_id, site_id=site_id))
        await self.publish(AsrStartListening(site_id=site_id, session_id=session_id, wakeword_id=wakeword_id))
        reason = DialogueSessionTerminationReason.NOMINAL
        try:
            captured = await text.wait(30.0, "asr")
            spoken = self.expect(TtsSayFinished, match=lambda m: m.session_id == session_id)
            recognised = self.expect(NluIntent, match=lambda m: m.session_id == session_id)
            await self.publish(NluQuery(input=captured.text, site_id=site_id, session_id=session_id,
                                        id=uuid.uuid4().hex))
            await recognised.wait(10.0, "nlu")
            await spoken.wait(30.0, "tts")
        except Exception:  # noqa: BLE001
            reason = DialogueSessionTerminationReason.ERROR
        await self.publish(DialogueSessionEnded(termination=DialogueSessionTermination(reason=reason),
                                                session_id=session_id, site_id=site_id))


@contextlib.asynccontextmanager
async def running(service: HermesService[Any]) -> AsyncIterator[HermesService[Any]]:
    from tests.conftest import running as run

    async with run(service) as svc:
        yield svc


@contextlib.asynccontextmanager
async def wyoming_mesh(common: CommonSettings, settings: WyomingSettings | None = None,
                       roles: set[str] | None = None) -> AsyncIterator[tuple[WyomingServer, ScriptedPeers]]:
    """Real ASR, peers for the rest, and a WyomingServer on a free port; yields (server, peers)."""
    roles = set(roles if roles is not None else {"nlu", "handler", "tts", "wake", "dialogue"})
    stack = contextlib.AsyncExitStack()
    async with stack:
        nlu = real_service("services.nlu.service", "NluService")
        if nlu is not None and "nlu" in roles and await asyncio.to_thread(train_profile, common.profile):
            roles.discard("nlu")
            await stack.enter_async_context(running(nlu(common)))
            await stack.enter_async_context(running(AsrService(common)))  # trained from the NLU's graph
        else:
            await stack.enter_async_context(running(GrammarAsrService(common)))
        for role, (module, cls) in REAL.items():
            real = real_service(module, cls) if role in roles else None
            if real is not None:
                roles.discard(role)
                await stack.enter_async_context(running(real(common)))
        peers = ScriptedPeers(common, roles)
        await stack.enter_async_context(running(peers))
        host = WyomingHost(common)
        await stack.enter_async_context(running(host))
        server = WyomingServer(host, "127.0.0.1", 0, settings or WyomingSettings(reply_timeout=20, handle_timeout=3))
        await server.start()
        stack.push_async_callback(server.stop)
        await asyncio.wait_for(server.catalog._refreshing, 10) if server.catalog._refreshing else None  # noqa: SLF001
        yield server, peers


def common_for(broker: Any, profile: Path) -> CommonSettings:
    from tests.conftest import make_common

    return make_common(broker, profile)

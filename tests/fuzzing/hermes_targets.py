"""Every catalog service as a fuzz target: start it on the test broker, a normal request it must still answer.

Used by tests/fuzzing/test_hermes_payloads.py and test_openapi.py (short, in CI) and bench/fuzz.py (long): the
whole mesh the OpenAPI fuzzer talks to, and the wait for a reply, are here once for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from hermes.audioserver import AudioDeviceMode, AudioDevices, AudioGetDevices
from hermes.base import HermesMessage
from hermes.dialogue import DialogueNotification, DialogueSessionStarted, DialogueStartSession
from hermes.errors import HandleError
from hermes.g2p import G2pPhonemes, G2pPronounce
from hermes.hotword import GetHotwords, Hotwords
from hermes.nlu import NluIntent, NluIntentNotRecognized, NluQuery
from hermes.snips import InjectionStatus, InjectionStatusRequest
from hermes.status import ServiceRestart, ServiceState, ServiceStatus
from hermes.tts import GetVoices, Voices
from services import catalog
from services.config import CommonSettings, load_section, service_section
from services.runner import load_class
from services.runtime import HermesService
from tests.bridge.ha_standin import home_assistant
from tests.bridge.harness import run_bridge
from tests.conftest import HermesTestClient, make_common, running

# A valid message here means "exit now" by design (the broker's ACL decides who may send it): fuzzing it
# would only prove that restarts work.
NOT_FUZZED: frozenset[type[HermesMessage]] = frozenset({ServiceRestart})


def make_service(name: str, common: CommonSettings) -> HermesService[Any]:
    """The service as ``hermesh up`` builds it (its profile section, its settings model)."""
    cls = load_class(catalog.SERVICES[name])
    return cls(common, load_section(cls.settings_model, common, service_section(name)))


def fuzzed_classes(service: HermesService[Any]) -> list[type[HermesMessage]]:
    """Every message class the service subscribes to with a handler, in a stable order."""
    classes = {route.message_class for route in service._routes} - NOT_FUZZED
    return sorted(classes, key=lambda cls: cls.__name__)


Send = Callable[[str, bytes], Awaitable[None]]
REPLIES: dict[str, tuple[type[HermesMessage], ...]] = {
    "nlu": (NluIntent, NluIntentNotRecognized), "asr": (G2pPhonemes,), "wake": (Hotwords,), "tts": (Voices,),
    "audio-input": (AudioDevices,), "audio-output": (AudioDevices,), "dialogue": (DialogueSessionStarted,),
    "intent-handler": (HandleError,), "injection": (InjectionStatus,),
}
Received = Callable[[type[HermesMessage], Callable[[Any], bool]], Awaitable[HermesMessage]]


async def answers_a_normal_request(name: str, service: HermesService[Any], send: Send, expect: Received,
                                   subscribe: Callable[[str], Awaitable[None]], site: str | None = None) -> str:
    """Send the service one ordinary request and wait for its ordinary answer; returns what was checked.
    ``site``: the site to ask on (a satellite serves only its own); default a fresh one."""
    key = uuid.uuid4().hex[:8]
    site = site or f"probe-{key}"

    async def publish(message: HermesMessage) -> None:
        await send(message.topic(), message.payload())

    for reply in REPLIES.get(name, ()):  # subscribed before asking: a fast reply must not be missed
        await subscribe(reply.subscribe_filter())
    if name == "nlu":
        await publish(NluQuery(input="what time is it", id=key, site_id=site))
        await expect(NluIntent | NluIntentNotRecognized, lambda m: m.id == key)  # type: ignore[arg-type]
        return "nlu/query -> intent"
    if name == "asr":
        await publish(G2pPronounce(words=["hello"], id=key, site_id=site))
        await expect(G2pPhonemes, lambda m: m.id == key)
        return "g2p/pronounce -> phonemes"
    if name == "wake":
        await publish(GetHotwords(id=key, site_id=site))
        await expect(Hotwords, lambda m: m.id == key)
        return "getHotwords -> hotwords"
    if name == "tts":
        await publish(GetVoices(id=key, site_id=site))
        await expect(Voices, lambda m: m.id == key)
        return "getVoices -> voices"
    if name in ("audio-input", "audio-output"):
        mode = AudioDeviceMode.INPUT if name == "audio-input" else AudioDeviceMode.OUTPUT
        await publish(AudioGetDevices(modes=[mode], id=key, site_id=site))
        await expect(AudioDevices, lambda m: m.id == key)
        return "getDevices -> devices"
    if name == "dialogue":
        await publish(DialogueStartSession(init=DialogueNotification(text="hello"), site_id=site, custom_data=key))
        await expect(DialogueSessionStarted, lambda m: m.custom_data == key)
        return "startSession -> sessionStarted"
    if name == "intent-handler":
        # With no handler configured its only answer is an error: a refused intent must still get one.
        await send("hermes/intent/Probe", json.dumps({"input": "x", "intent": {"intentName": "Probe"},
                                                      "siteId": f"bad/{key}/#"}).encode())
        await expect(HandleError, lambda m: "refused" in m.error and key in m.error)
        return "bad nlu intent -> hermes/error/handle"
    if name == "injection":
        await publish(InjectionStatusRequest())
        await expect(InjectionStatus, lambda m: True)
        return "injection/statusRequest -> status"
    if name == "bridge":
        await publish(ServiceStatus(service="fuzz-probe", instance=key, status=ServiceState.ONLINE))
        bridge: Any = service
        async with asyncio.timeout(10), httpx.AsyncClient(base_url=bridge.base_url, timeout=10) as client:
            while not bridge.registry.online("fuzz-probe"):
                await asyncio.sleep(0.02)
            reply = await client.get("/api/version")
        assert reply.status_code == 200, reply.text
        return "status -> registry; GET /api/version"
    raise AssertionError(f"no probe for {name}")


def expecter(client: HermesTestClient):  # type: ignore[no-untyped-def]
    async def expect(cls: Any, where: Any) -> HermesMessage:
        classes = getattr(cls, "__args__", (cls,))
        for one in classes:
            await client.subscribe(one.subscribe_filter())
        async with asyncio.timeout(20):
            while True:
                for one in classes:
                    found = client.received(one, where)
                    if found:
                        return found[0]
                await asyncio.sleep(0.02)

    return expect


@contextlib.asynccontextmanager
async def whole_mesh(broker, profile):  # type: ignore[no-untyped-def]
    """Every catalog service as ``hermesh up`` builds it, then the bridge, trained."""
    settings = json.loads((profile / "profile.json").read_text())
    # One speaker plays every site's sounds in turn (the fuzzer names many sites, the dialogue adds its
    # feedback sounds), so a say can wait behind others longer than its own length plus 3 s; the TTS
    # would then report it failed (502). The margin itself is tested in tests/tts.
    settings["tts"] = {"play_finished_margin": 60.0}
    (profile / "profile.json").write_text(json.dumps(settings))
    async with contextlib.AsyncExitStack() as stack:
        common = make_common(broker, profile)
        for name in sorted(set(catalog.SERVICES) - {"bridge"}):
            await stack.enter_async_context(running(make_service(name, common), timeout=60))
        # Home Assistant is outside the mesh: its stand-in answers the conversation API (tests/bridge).
        url, _ = await stack.enter_async_context(home_assistant("ha-token"))
        # GET /api/mqtt/<topic> waits this long for a message the fuzzer's random topics never get
        bridge = await stack.enter_async_context(run_bridge(broker, profile, mqtt_poll_timeout=1.0,
                                                            home_assistant_url=url, home_assistant_token="ha-token"))
        async with httpx.AsyncClient(base_url=bridge.base_url, timeout=60) as client:
            trained = await client.post("/api/train")
            assert trained.status_code == 200, trained.text
            spec = (await client.get("/openapi.json")).json()
        yield bridge, spec

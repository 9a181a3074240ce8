"""Snips injection end to end: a plain MQTT client (as a Snips app) adds a name to a slot list, and the real ASR
and NLU recognise it spoken; reset puts the profile back; a refused or failing injection changes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hermes.errors import InjectionError
from hermes.snips import (
    InjectionComplete,
    InjectionPerform,
    InjectionResetComplete,
    InjectionResetPerform,
    InjectionStatus,
    InjectionStatusRequest,
)
from services.injection.service import InjectionService
from tests.bridge.harness import http
from tests.bridge.mesh import mesh
from tests.bridge.speech import spoken_wav
from tests.conftest import MosquittoBroker, make_common, running

pytestmark = pytest.mark.timeout(240)

SENTENCES = "[PlayMusic]\nplay music on the ($device){device}\n\n[GetTime]\nwhat time is it\n"
DEVICES = "living room speaker\n"


@pytest.fixture
def music_profile(profile_dir: Path) -> Path:
    (profile_dir / "sentences.ini").write_text(SENTENCES)
    (profile_dir / "slots" / "device").write_text(DEVICES)
    return profile_dir


@contextlib.asynccontextmanager
async def injection_mesh(broker: MosquittoBroker, profile: Path) -> AsyncIterator[Any]:
    """The real NLU and ASR, trained, the bridge (to speak to the mesh over HTTP) and the injection service."""
    async with mesh(broker, profile, asr=True, train=True) as bridge, \
            running(InjectionService(make_common(broker, profile))), http(bridge) as client:
        yield client


async def spoken_intent(client: Any, text: str) -> dict[str, Any]:
    reply = await client.post("/api/speech-to-intent", content=spoken_wav(text), params={"nohass": "true"})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def test_an_app_injects_a_device_and_it_is_recognised_spoken_then_reset_puts_the_profile_back(
        mqtt_broker: MosquittoBroker, mqtt_client: Any, music_profile: Path) -> None:
    for cls in (InjectionComplete, InjectionResetComplete, InjectionStatus, InjectionError):
        await mqtt_client.subscribe(cls.subscribe_filter())
    async with injection_mesh(mqtt_broker, music_profile) as client:
        before = await spoken_intent(client, "play music on the kitchen radio")
        await mqtt_client.publish(InjectionPerform(
            id="inj-1", operations=[["add", {"device": ["kitchen radio", ["zorblax", 3]]}]]))
        await mqtt_client.expect(InjectionComplete, timeout=120, where=lambda m: m.request_id == "inj-1")
        after = await spoken_intent(client, "play music on the kitchen radio")
        old_name = await spoken_intent(client, "play music on the living room speaker")
        await mqtt_client.publish(InjectionStatusRequest())
        status = await mqtt_client.expect(InjectionStatus, timeout=10)
        injected = (music_profile / "slots" / "device").read_text()
        guessed = (music_profile / "trained" / "asr" / "unknown_words.txt").read_text()
        await mqtt_client.publish(InjectionResetPerform(request_id="reset-1"))
        await mqtt_client.expect(InjectionResetComplete, timeout=120, where=lambda m: m.request_id == "reset-1")
        reset = await client.post("/api/text-to-intent", content="play music on the kitchen radio",
                                  params={"nohass": "true"})
    assert not mqtt_client.received(InjectionError)
    assert before["text"] != "play music on the kitchen radio"  # the grammar had no such device
    assert after["intent"]["name"] == "PlayMusic" and after["slots"] == {"device": "kitchen radio"}, after
    assert old_name["slots"] == {"device": "living room speaker"}  # add keeps what was there
    # zorblax is in no dictionary: the ASR guessed its pronunciation when it trained
    assert injected == "living room speaker\nkitchen radio\nzorblax\n"
    assert "zorblax" in guessed
    assert status.last_injection_date and status.last_injection_date.endswith("Z")
    assert (music_profile / "slots" / "device").read_text() == DEVICES
    assert reset.json()["slots"].get("device") != "kitchen radio"


async def test_a_refused_or_failing_injection_changes_nothing_and_the_old_model_keeps_serving(
        mqtt_broker: MosquittoBroker, mqtt_client: Any, music_profile: Path) -> None:
    await mqtt_client.subscribe(InjectionError.subscribe_filter())
    await mqtt_client.subscribe(InjectionComplete.subscribe_filter())
    async with injection_mesh(mqtt_broker, music_profile) as client:
        # a typo in the entity: refused before anything is written, naming the slots there are
        await mqtt_client.publish(InjectionPerform(id="typo", operations=[["add", {"devise": ["kitchen radio"]}]]))
        typo = await mqtt_client.expect(InjectionError, timeout=30, where=lambda m: m.context == "typo")
        await mqtt_client.publish(InjectionPerform(id="bad-kind", operations=[["remove", {"device": ["x"]}]]))
        bad_kind = await mqtt_client.expect(InjectionError, timeout=30, where=lambda m: m.context == "bad-kind")
        await mqtt_client.publish(InjectionPerform(id="escape", operations=[["add", {"../profile.json": ["x"]}]]))
        escape = await mqtt_client.expect(InjectionError, timeout=30, where=lambda m: m.context == "escape")
        # phones the ASR does not have, for a word the grammar now uses: the ASR refuses to train
        await mqtt_client.publish(InjectionPerform(id="phones", operations=[["add", {"device": ["zorblax"]}]],
                                                   lexicon={"zorblax": ["Q1 Q2 Q3"]}))
        phones = await mqtt_client.expect(InjectionError, timeout=120, where=lambda m: m.context == "phones")
        still = await spoken_intent(client, "play music on the living room speaker")
        zorblax = await client.post("/api/text-to-intent", content="play music on the zorblax",
                                    params={"nohass": "true"})
    assert "devise" in typo.error and "device" in typo.error
    assert "remove" in bad_kind.error and "addFromVanilla" in bad_kind.error
    assert "../profile.json" in escape.error
    assert "the profile is as it was" in phones.error and "unknown phone" in phones.error, phones.error
    assert not mqtt_client.received(InjectionComplete)
    assert (music_profile / "slots" / "device").read_text() == DEVICES
    assert not (music_profile / "custom_words.txt").exists() or "zorblax" not in (
        music_profile / "custom_words.txt").read_text()
    assert still["slots"] == {"device": "living room speaker"}
    assert zorblax.json()["slots"].get("device") != "zorblax"  # the NLU is back on the profile as it was


async def test_add_from_vanilla_starts_again_from_the_users_list(
        mqtt_broker: MosquittoBroker, mqtt_client: Any, music_profile: Path) -> None:
    await mqtt_client.subscribe(InjectionComplete.subscribe_filter())
    async with injection_mesh(mqtt_broker, music_profile) as client:
        for request, kind, value in (("a", "add", "kitchen radio"), ("b", "addFromVanilla", "hall speaker")):
            await mqtt_client.publish(InjectionPerform(id=request, operations=[[kind, {"device": [value]}]]))
            await mqtt_client.expect(InjectionComplete, timeout=120, where=lambda m, r=request: m.request_id == r)
        hall = await client.post("/api/text-to-intent", content="play music on the hall speaker",
                                 params={"nohass": "true"})
    assert (music_profile / "slots" / "device").read_text() == "living room speaker\nhall speaker\n"
    assert hall.json()["slots"] == {"device": "hall speaker"}

"""A broken sentence file fails training with a 400 naming it; the NLU and ASR keep serving (issue 19, §2).

Over real HTTP with the real NLU, ASR and bridge on the test broker. A "restart" is a fresh start of the
services on the same profile: their start-up must not raise (that is what made the supervisor's crash loop).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.asr.service import AsrService, AsrSettings
from services.nlu.service import NluService
from tests.bridge.harness import http, run_bridge
from tests.conftest import MosquittoBroker, make_common, running

JSON = {"Accept": "application/json"}
GOOD = "[Greet]\nhello there\n"

# name -> (files written through the API, text the 400 must contain)
BROKEN_THROUGH_THE_API = {
    "unclosed group": ({"intents/broken.ini": "[Broken]\nturn (on\n"}, ["intents/broken.ini", "line 2", "')'"]),
    "a stray bracket": ({"intents/broken.ini": "[Broken]\n\nturn on)\n"}, ["intents/broken.ini", "line 3", "')'"]),
    "groups nested 5000 deep": ({"intents/broken.ini": "[Deep]\n" + "(" * 5000 + "a" + ")" * 5000 + "\n"},
                                ["intents/broken.ini", "line 2", "deeper than"]),
    "a rule chain of 3000": ({"intents/broken.ini": "[Chain]\n" + "".join(f"r{i} = <r{i + 1}> a\n" for i in range(3000))
                              + "r3000 = b\n<r0>\n"}, ["intents/broken.ini", "line ", "levels deep"]),
    "a number range of 10^9 values": ({"intents/broken.ini": "[Count]\ncount to (0..1000000000){n}\n"},
                                      ["intents/broken.ini", "line 2", "more than"]),
    "an unknown converter": ({"intents/broken.ini": "[Conv]\nhello!nope\n"}, ["intents/broken.ini", "line 2"]),
}


@contextlib.asynccontextmanager
async def nlu_and_asr(broker: MosquittoBroker, profile: Path) -> AsyncIterator[None]:
    common = make_common(broker, profile)
    async with running(NluService(common)), running(AsrService(common, AsrSettings())):
        yield


async def intent_of(client: httpx.AsyncClient, text: str) -> str:
    reply = await client.post("/api/text-to-intent", content=text, headers=JSON)
    assert reply.status_code == 200, reply.text
    return reply.json()["intent"]["name"]


async def sentence_files(client: httpx.AsyncClient) -> dict[str, str]:
    reply = await client.get("/api/sentences", headers=JSON)
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.mark.parametrize("case", list(BROKEN_THROUGH_THE_API))
async def test_a_broken_file_fails_training_naming_it_and_the_last_good_model_serves(mqtt_broker, profile_dir,
                                                                                     case):
    files, expected = BROKEN_THROUGH_THE_API[case]
    (profile_dir / "sentences.ini").write_text(GOOD)
    async with nlu_and_asr(mqtt_broker, profile_dir), run_bridge(mqtt_broker, profile_dir) as bridge, \
            http(bridge) as client:
        assert (await client.post("/api/train")).status_code == 200
        written = await client.post("/api/sentences", json=files)
        trained = await client.post("/api/train")
        still = await intent_of(client, "hello there")
        listed = await sentence_files(client)
        replaced = await client.post("/api/sentences", json={name: "[Fixed]\nfixed now\n" for name in files})
        retrained = await client.post("/api/train")
        fixed = await intent_of(client, "fixed now")
        deleted = await client.post("/api/sentences", json={name: "" for name in files})
        after = await sentence_files(client)
    assert written.status_code == 200, written.text
    assert trained.status_code == 400, (trained.status_code, trained.text[:300])
    for part in expected:
        assert part in trained.text, (part, trained.text[:300])
    assert still == "Greet"
    assert all(listed[name] == text for name, text in files.items())
    assert replaced.status_code == 200 and retrained.status_code == 200, (replaced.text, retrained.text)
    assert fixed == "Fixed"
    assert deleted.status_code == 200 and not set(files) & set(after)


def break_on_disk(profile: Path, how: str) -> str:
    """Break the profile the way a careless editor or an older API did; returns what the error must name."""
    intents = profile / "intents"
    intents.mkdir(exist_ok=True)
    if how == "a folder named like a sentence file":
        (intents / "zz.ini").mkdir()
        (intents / "zz.ini" / "x.ini").write_text("[Zz]\nzz top\n")
        return "intents/zz.ini"
    if how == "bytes that are not UTF-8":
        (intents / "latin.ini").write_bytes(b"[Latin]\ncaf\xe9 au lait\n")
        return "intents/latin.ini"
    if how == "a slot file that is not UTF-8":
        (intents / "slot.ini").write_text("[Slot]\nplay $songs\n")
        (profile / "slots").mkdir(exist_ok=True)
        (profile / "slots" / "songs").write_bytes(b"ok song\n\xff\xfe\n")
        return "slots/songs"
    if how == "groups nested 5000 deep":
        (intents / "deep.ini").write_text("[Deep]\n" + "(" * 5000 + "a" + ")" * 5000 + "\n")
        return "intents/deep.ini"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["a folder named like a sentence file", "bytes that are not UTF-8",
                                 "a slot file that is not UTF-8", "groups nested 5000 deep"])
async def test_a_restart_on_a_broken_profile_serves_the_last_good_model(mqtt_broker, profile_dir, how, caplog):
    (profile_dir / "sentences.ini").write_text(GOOD)
    async with nlu_and_asr(mqtt_broker, profile_dir), run_bridge(mqtt_broker, profile_dir) as bridge, \
            http(bridge) as client:
        assert (await client.post("/api/train")).status_code == 200
    name = break_on_disk(profile_dir, how)
    caplog.set_level(logging.ERROR, logger="hermesh")
    # The restart: both services come online (running() raises if a start-up fails) and log why they did not train.
    async with nlu_and_asr(mqtt_broker, profile_dir), run_bridge(mqtt_broker, profile_dir) as bridge, \
            http(bridge) as client:
        served = await intent_of(client, "hello there")
        trained = await client.post("/api/train")
        listed = await sentence_files(client)
        removed = {path: "" for path in listed if path != "sentences.ini"}
        deleted = await client.post("/api/sentences", json=removed)
        slot_fixed = await client.post("/api/slots", params={"overwriteAll": "true"}, json={"songs": []})
        retrained = await client.post("/api/train")
        after = await sentence_files(client)
    assert served == "Greet"
    assert trained.status_code == 400 and name in trained.text, (trained.status_code, trained.text[:300])
    nlu_errors = [r.getMessage() for r in caplog.records if r.name == "hermesh.nlu"]
    assert any("training failed" in m and name.split("/")[-1] in m for m in nlu_errors), nlu_errors
    assert not [r for r in caplog.records if r.exc_info], "a broken file is an expected error, not a traceback"
    assert deleted.status_code == 200 and slot_fixed.status_code == 200, (deleted.text, slot_fixed.text)
    assert retrained.status_code == 200, retrained.text
    assert list(after) == ["sentences.ini"] and not list((profile_dir / "intents").rglob("*"))


async def test_a_profile_that_never_trained_starts_and_says_so(mqtt_broker, profile_dir, caplog):
    (profile_dir / "sentences.ini").write_text("[Broken]\nturn (on\n")
    caplog.set_level(logging.WARNING, logger="hermesh")
    async with nlu_and_asr(mqtt_broker, profile_dir), run_bridge(mqtt_broker, profile_dir) as bridge, \
            http(bridge) as client:
        reply = await client.post("/api/text-to-intent", content="turn on", headers=JSON)
        trained = await client.post("/api/train")
    # 502: the NLU answered with its error (not a bridge failure); the message says what to do
    assert reply.status_code == 502 and "hermesh train" in reply.text, (reply.status_code, reply.text)
    assert trained.status_code == 400 and "sentences.ini" in trained.text and "line 2" in trained.text
    messages = [r.getMessage() for r in caplog.records]
    assert any("no trained model" in m for m in messages) and any("not trained yet" in m for m in messages)

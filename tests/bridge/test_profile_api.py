"""Training data and profile endpoints: files stay inside the profile, writes are atomic, training is real."""

from __future__ import annotations

import io
import json
import os
import zipfile

import pytest

from hermes.asr import AsrTrain
from hermes.nlu import NluTrain

from .harness import http, run_bridge
from .mesh import mesh


async def test_sentences_plain_and_multi_file_json(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        original = (profile_dir / "sentences.ini").read_text()
        plain = await client.get("/api/sentences")
        wrote = await client.post("/api/sentences", content="[GetTime]\nwhat time is it\n",
                                  headers={"Content-Type": "text/plain"})
        multi = await client.post("/api/sentences", json={
            "intents/lights.ini": "[Lights]\nlights on\n", "intents/rooms/extra.ini": "[Extra]\nextra\n",
            "sentences.ini": "[GetTime]\nwhat time is it\ntell me the time\n"})
        as_json = await client.get("/api/sentences", headers={"Accept": "application/json, text/javascript, */*; q=0.01"})
        star = await client.get("/api/sentences", headers={"Accept": "*/*"})
        deleted = await client.post("/api/sentences", json={"intents/rooms/extra.ini": "  \n"})
        after = await client.get("/api/sentences", headers={"Accept": "application/json"})
        escapes = [await client.post("/api/sentences", json={name: "[X]\nx\n"}) for name in
                   ("../outside.ini", "intents/../../outside.ini", "/etc/passwd", "profile.json",
                    "intents/.hidden.ini", "intents/x.txt")]
    assert plain.text == original and plain.headers["content-type"].startswith("text/plain")
    assert wrote.text == f"Wrote 26 byte(s) to {profile_dir / 'sentences.ini'}"
    assert multi.status_code == 200 and multi.text.startswith("Wrote ") and "intents/lights.ini" in multi.text
    assert as_json.json() == {"sentences.ini": "[GetTime]\nwhat time is it\ntell me the time\n",
                              "intents/lights.ini": "[Lights]\nlights on\n",
                              "intents/rooms/extra.ini": "[Extra]\nextra\n"}
    assert star.text == "[GetTime]\nwhat time is it\ntell me the time\n"
    assert deleted.status_code == 200 and "intents/rooms/extra.ini" not in after.json()
    for reply in escapes:
        assert reply.status_code == 400, reply.text
    assert not (profile_dir.parent / "outside.ini").exists()
    assert json.loads((profile_dir / "profile.json").read_text()) == {"language": "en", "site_ids": []}
    leftovers = [p for p in profile_dir.rglob("*.tmp")]
    assert leftovers == []


async def test_slots_merge_overwrite_and_single_slot(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        before = (await client.get("/api/slots")).json()
        await client.post("/api/slots", json={"color": ["teal", "magenta", "teal"], "rooms/floor": "first"})
        merged = (await client.get("/api/slots")).json()
        await client.post("/api/slots", params={"overwrite_all": "True"}, json={"color": ["blue"]})
        replaced = (await client.get("/api/slots/color")).json()
        single = await client.post("/api/slots/rooms/floor", json=["second", "first"])
        floor = (await client.get("/api/slots/rooms/floor")).json()
        emptied = await client.post("/api/slots/color", params={"overwriteAll": "true"}, json=[])
        missing = (await client.get("/api/slots/color")).json()
        escapes = [await client.post("/api/slots", json={name: ["x"]}) for name in
                   ("../../evil", "/abs", "a/../../b", ".hidden", "")]
        escape_get = await client.get("/api/slots/..%2F..%2Fprofile.json")
        bad_values = await client.post("/api/slots", json={"color": [{"a": 1}]})
    assert "color" in before
    assert merged["color"][: len(before["color"])] == before["color"]
    assert merged["color"][-2:] == ["teal", "magenta"] and merged["rooms/floor"] == ["first"]
    assert replaced == ["blue"]
    assert single.text == f"Wrote to {(profile_dir / 'slots' / 'rooms' / 'floor').resolve()}"
    assert floor == ["first", "second"]
    assert emptied.status_code == 200 and missing == []
    assert not (profile_dir / "slots" / "color").exists()
    for reply in [*escapes, escape_get, bad_values]:
        assert reply.status_code == 400, (reply.status_code, reply.text)


async def test_custom_words_unknown_words_intents_and_backup(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        empty = await client.get("/api/custom-words")
        wrote = await client.post("/api/custom-words", content="hermesh HH ER M EH SH\nhermesh(2) HH ER M AH SH\n")
        plain = await client.get("/api/custom-words")
        as_json = await client.get("/api/custom-words", headers={"Accept": "application/json"})
        bad = await client.post("/api/custom-words", content="lonelyword\n")
        (profile_dir / "trained" / "asr").mkdir(parents=True)
        (profile_dir / "trained" / "asr" / "unknown_words.txt").write_text("zorp Z AO R P\n")
        unknown = await client.get("/api/unknown-words")
        intents = await client.get("/api/intents?templates=true")
        backup = await client.get("/api/backup-profile")
        phonemes = (await client.get("/api/phonemes")).json()
        (profile_dir / "phoneme_examples.txt").write_text("AA father F AA DH ER\n")
        own_phonemes = (await client.get("/api/phonemes")).json()
        profiles = (await client.get("/api/profiles")).json()
        problems = (await client.get("/api/problems")).json()
    assert empty.text == ""
    assert wrote.text == f"Wrote 2 line(s) to {(profile_dir / 'custom_words.txt').resolve()}"
    assert plain.text == "hermesh HH ER M EH SH\nhermesh(2) HH ER M AH SH\n"
    assert as_json.json() == {"hermesh": ["HH ER M EH SH", "HH ER M AH SH"]}
    assert bad.status_code == 400 and "line 1" in bad.text
    assert unknown.json() == {"zorp": "Z AO R P"}
    assert intents.json()["GetTime"] == ["what time is it", "tell me the time"]
    assert backup.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(backup.content)).namelist()
    assert {"profile.json", "sentences.ini", "custom_words.txt", "slots/color"} <= set(names)
    assert not any(n.startswith("trained/") for n in names)
    assert len(phonemes) == 39 and phonemes["AY"] == {"word": "hide", "phonemes": "HH AY D"}
    assert own_phonemes == {"AA": {"word": "father", "phonemes": "F AA DH ER"}}
    assert profiles["profiles"] == ["profile"] and profiles["downloaded"] is True and problems == {}


async def test_profile_layers_and_post(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        raw = (await client.get("/api/profile", params={"layers": "profile"})).json()
        defaults = (await client.get("/api/profile", params={"layers": "defaults"})).json()
        merged = (await client.get("/api/profile")).json()
        new = dict(merged)
        new["language"] = "en"
        new["nlu"] = dict(merged.get("nlu", {}))
        new["bridge"] = {**merged["bridge"], "reply_timeout": 12.5}
        as_text = await client.post("/api/profile", content=json.dumps(new), headers={"Content-Type": "text/plain"})
        posted = await client.post("/api/profile", content=json.dumps(new),
                                   headers={"Content-Type": "application/json"})
        stored = json.loads((profile_dir / "profile.json").read_text())
        invalid = await client.post("/api/profile", json={"bridge": {"no_such_key": 1}})
        json_type = {"Content-Type": "application/json"}
        not_object = await client.post("/api/profile", content="[1]", headers=json_type)
        broken = await client.post("/api/profile", content="{", headers=json_type)
    assert raw == {"language": "en", "site_ids": []}
    assert defaults["http"]["port"] == 12101 and defaults["bridge"]["reply_timeout"] == 30.0
    assert merged["language"] == "en" and merged["bridge"]["max_body_bytes"] == 50 * 1024 * 1024
    assert as_text.status_code == 415 and "application/json" in as_text.text  # a JSON endpoint (issue 19)
    assert posted.text == f"Wrote profile to {profile_dir / 'profile.json'}"
    assert stored == {"bridge": {"reply_timeout": 12.5}}  # everything equal to a default is dropped
    assert invalid.status_code == 422 and "bridge.no_such_key" in invalid.text  # unknown keys (issue 19)
    assert not_object.status_code == 400 and broken.status_code == 400
    assert json.loads((profile_dir / "profile.json").read_text()) == stored


async def test_train_sends_the_profile_texts_to_the_real_nlu_and_asr(mqtt_broker, profile_dir, mqtt_client):
    await mqtt_client.subscribe(NluTrain.subscribe_filter(), AsrTrain.subscribe_filter())
    async with mesh(mqtt_broker, profile_dir, asr=True) as bridge, http(bridge) as client:
        reply = await client.post("/api/train", params={"no_cache": "true"})
        nlu = await mqtt_client.expect(NluTrain)
        asr = await mqtt_client.expect(AsrTrain)
        await client.post("/api/sentences", content="[Broken]\nturn on (the light\n")
        failed = await client.post("/api/train")
        still = await client.post("/api/text-to-intent", content="what time is it")
    assert reply.status_code == 200, reply.text
    assert reply.text.startswith("Training completed in ") and reply.text.endswith("second(s)")
    assert nlu.id == asr.id and nlu.site_id == "default"
    assert nlu.sentences == {"sentences.ini": (profile_dir / "sentences.ini").read_text()} or "sentences.ini" in (
        nlu.sentences or {})
    assert nlu.slots and "color" in nlu.slots and nlu.slots == asr.slots
    assert failed.status_code == 400
    assert "Training failed" in failed.text and "sentences.ini" in failed.text and "line 2" in failed.text
    assert still.json()["intent"]["name"] == "GetTime"  # the previous model keeps serving


async def test_train_names_a_missing_service(mqtt_broker, profile_dir):
    async with mesh(mqtt_broker, profile_dir, reply_timeout=1.0) as bridge, http(bridge) as client:
        reply = await client.post("/api/train")
    async with run_bridge(mqtt_broker, profile_dir, reply_timeout=1.0) as bridge, http(bridge) as client:
        nobody = await client.post("/api/train")
    assert reply.status_code == 200, reply.text
    assert "asr skipped" in reply.text and "asr" in reply.text
    assert nobody.status_code == 503 and "nlu" in nobody.text and "asr" in nobody.text


@pytest.mark.parametrize("name", ["../x", "slots/../../x"])
def test_safe_path_refuses_escapes(tmp_path, name):
    from bridge.profile_files import ProfileFileError, safe_path

    with pytest.raises(ProfileFileError):
        safe_path(tmp_path, "slots", name)


def test_symlink_out_of_the_profile_is_refused(tmp_path):
    from bridge.profile_files import ProfileFileError, safe_path

    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "profile" / "slots").mkdir(parents=True)
    os.symlink(outside, tmp_path / "profile" / "slots" / "link")
    with pytest.raises(ProfileFileError):
        safe_path(tmp_path / "profile", "slots", "link/evil")

"""Settings over HTTP: no program without an admin token, no path outside the profile, no unknown key."""

from __future__ import annotations

import json

import pytest

from tests.bridge.harness import http, run_bridge

TOKEN = "admin-token"


@pytest.mark.parametrize("change", [
    {"intent_handler.command.program": "/bin/sh"},
    {"intent_handler": {"command": {"arguments": ["-c", "id"]}}},
    {"wake.precise.engine": "/tmp/precise-engine"},
    {"wake.precise.engine_args": ["-c", "id"]},
    {"tts.espeak.executable": "/bin/sh"},
    {"asr.engine": "subprocess.Popen"},
    {"wake.engine": "os:system"},
    {"asr.engine_options": {"args": ["id"]}},
    {"bridge.cors_origins": ["http://evil.example"]},
    {"bridge.allowed_hosts": ["evil.example"]},
])
async def test_program_settings_are_refused_without_an_admin_token(mqtt_broker, profile_dir, change):
    before = (profile_dir / "profile.json").read_text()
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        reply = await client.patch("/api/config", json=change)
    key = next(iter(change))
    assert reply.status_code == 403, reply.text
    assert key.split(".")[0] in reply.text and "admin token" in reply.text and "profile.json" in reply.text
    assert (profile_dir / "profile.json").read_text() == before


async def test_an_admin_token_may_set_a_program_and_a_plain_client_may_post_it_back(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir, auth_token=TOKEN) as bridge, \
            http(bridge, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        patched = await client.patch("/api/config", json={"intent_handler.command.program": "/bin/true",
                                                          "asr.engine": "kaldi"})
    stored = json.loads((profile_dir / "profile.json").read_text())
    assert patched.status_code == 200, patched.text
    assert stored["intent_handler"]["command"]["program"] == "/bin/true"
    # Without auth configured, the owner's on-disk program may be posted back unchanged, not changed.
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        raw = (await client.get("/api/profile", params={"layers": "profile"})).json()
        unchanged = await client.post("/api/profile", json={**raw, "language": "en"})
        raw["intent_handler"]["command"]["program"] = "/bin/false"
        changed = await client.post("/api/profile", json=raw)
        removed = await client.post("/api/profile", json={"language": "en"})
    assert unchanged.status_code == 200, unchanged.text
    assert changed.status_code == 403 and "intent_handler.command.program" in changed.text
    assert removed.status_code == 403
    assert json.loads((profile_dir / "profile.json").read_text())["intent_handler"]["command"]["program"] == \
        "/bin/true"


async def test_a_user_token_cannot_write_settings_at_all(mqtt_broker, profile_dir):
    from bridge.auth import encode_jwt

    user = encode_jwt({"user": {"username": "kitchen", "role": "user"}}, "jwt-secret")
    async with run_bridge(mqtt_broker, profile_dir, jwt_secret="jwt-secret") as bridge, \
            http(bridge, headers={"Authorization": f"Bearer {user}"}) as client:
        reply = await client.patch("/api/config", json={"intent_handler.command.program": "/bin/sh"})
    assert reply.status_code == 403 and "admin" in reply.text


async def test_the_custom_words_file_read_is_confined_to_the_profile(mqtt_broker, profile_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3tword S EH K R EH T\n")
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        attempts = [await client.patch("/api/config", json={"asr.custom_words": value})
                    for value in ("/etc/passwd", str(secret), "../secret.txt", "words/../../secret.txt")]
        words = await client.get("/api/custom-words")
        inside = await client.patch("/api/config", json={"asr.custom_words": "words/mine.txt"})
        wrote = await client.post("/api/custom-words", content="hermesh HH ER M EH SH\n")
        absolute_inside = await client.patch("/api/config",
                                             json={"asr.custom_words": str(profile_dir / "words" / "mine.txt")})
        read_back = await client.get("/api/custom-words")
        # a profile.json edited on disk to point outside: the API refuses to read it, naming the key
        (profile_dir / "profile.json").write_text(json.dumps({"asr": {"custom_words": "/etc/passwd"}}))
        from_disk = await client.get("/api/custom-words")
        write_disk = await client.post("/api/custom-words", content="x Y\n")
    for reply in attempts:
        assert reply.status_code == 400, reply.text
        assert "asr.custom_words" in reply.text and "outside the profile" in reply.text
    assert "root:x:0" not in words.text and "s3cr3tword" not in words.text
    assert inside.status_code == 200 and wrote.status_code == 200 and absolute_inside.status_code == 200
    assert (profile_dir / "words" / "mine.txt").read_text() == "hermesh HH ER M EH SH\n"
    assert read_back.text == "hermesh HH ER M EH SH\n"
    assert from_disk.status_code == 400 and "asr.custom_words" in from_disk.text and "root:x:0" not in from_disk.text
    assert write_disk.status_code == 400


@pytest.mark.parametrize("change", [
    {"bridge.web_dir": "/"},
    {"bridge.certfile": "/etc/ssl/private/key.pem"},
    {"mqtt.ca_file": "/etc/passwd"},
    {"intent_handler.home_assistant.ca_file": "../../x.pem"},
    {"dialogue.sounds": {"wake": "/etc/passwd"}},
    {"wake.pocketsphinx.dictionary": "/etc/passwd"},
    {"wake.precise.model": "../outside.pb"},
    {"asr.acoustic_model": "/usr/share"},
])
async def test_every_path_setting_stays_inside_the_profile(mqtt_broker, profile_dir, change):
    async with run_bridge(mqtt_broker, profile_dir, auth_token=TOKEN) as bridge, \
            http(bridge, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        reply = await client.patch("/api/config", json=change)
        posted = await client.post("/api/profile", json=json.loads(json.dumps(unflat(change))))
    key = next(iter(change))
    assert reply.status_code == 400 and key in reply.text and "outside the profile" in reply.text, reply.text
    assert posted.status_code == 400 and key in posted.text


def unflat(change: dict) -> dict:
    out: dict = {}
    for key, value in change.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


async def test_unknown_keys_are_a_422_naming_them(mqtt_broker, profile_dir):
    before = (profile_dir / "profile.json").read_text()
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        top = await client.post("/api/profile", json={"language": "en", "wake_word": "x"})
        nested = await client.post("/api/profile", json={"nlu": {"fuzzy": True, "fuzzzy": False}})
        deep = await client.post("/api/profile", json={"mqtt": {"hots": "x"}})
        patch_top = await client.patch("/api/config", json={"wake_word": "x"})
        patch_nested = await client.patch("/api/config", json={"intent_handler.home_assistant.tokenn": "x"})
        known = await client.post("/api/profile", json={"wyoming": {"program_name": "mine"}, "nlu": {"fuzzy": False}})
    assert top.status_code == 422 and "'wake_word'" in top.text
    assert nested.status_code == 422 and "nlu.fuzzzy" in nested.text
    assert deep.status_code == 422 and "mqtt.hots" in deep.text
    assert patch_top.status_code == 422 and "wake_word" in patch_top.text
    assert patch_nested.status_code == 422 and "intent_handler.home_assistant.tokenn" in patch_nested.text
    assert known.status_code == 200, known.text
    assert before != (profile_dir / "profile.json").read_text()  # only the valid post was written


def test_the_rules_know_every_path_setting():
    from bridge.protected_settings import path_keys, runs_code
    from bridge.routes.profile_api import all_settings_models

    paths = path_keys(all_settings_models())
    assert {"mqtt.ca_file", "bridge.certfile", "bridge.web_dir", "asr.acoustic_model", "asr.custom_words",
            "intent_handler.home_assistant.key_file"} <= paths
    assert "profile" not in paths
    assert runs_code("intent_handler.command.program", "x") and runs_code("system.reboot_argv", ["x"])
    assert runs_code("asr.engine", "my_pkg.Engine") and not runs_code("asr.engine", "kaldi")
    assert not runs_code("dialogue.session_timeout", 5) and not runs_code("nlu.fuzzy", True)

"""Hermesh's runtime API: status, configuration, stop/restart/shutdown, languages, TTS test, Home Assistant."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import wave

from hermes.audioserver import AudioToggleOff, AudioToggleOn
from hermes.dialogue import DialogueEndSession, DialogueSessionStarted

from .ha_standin import home_assistant
from .harness import http, run_bridge
from .mesh import mesh


async def test_status_lists_services_sites_and_uptime(mqtt_broker, profile_dir, mqtt_client, site_id):
    async with mesh(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        await client.post("/api/text-to-intent", content="what time is it", params={"siteId": site_id})
        await mqtt_client.publish(DialogueSessionStarted(session_id="s9", site_id=site_id))
        for _ in range(500):
            if bridge.site_states.sites.get(site_id) and bridge.site_states.sites[site_id].session_id == "s9":
                break
            await asyncio.sleep(0.01)
        status = (await client.get("/api/status")).json()
    assert status["services"]["nlu"]["online"] is True
    assert status["services"]["bridge"]["online"] is True
    assert status["services"]["nlu"]["instances"][0]["status"] == "online"
    assert status["sites"][site_id]["state"] == "session" and status["sites"][site_id]["sessionId"] == "s9"
    assert status["sites"][site_id]["lastIntent"] == "GetTime"
    assert status["uptimeSeconds"] >= 0 and status["broker"]["connected"] is True
    assert status["homeAssistant"] == {"configured": False, "reachable": False}


async def test_config_hides_secrets_and_patch_persists_and_applies(mqtt_broker, profile_dir):
    level = logging.getLogger().level
    try:
        await check_config(mqtt_broker, profile_dir)
    finally:
        logging.getLogger().setLevel(level)  # the PATCH of log_level applies to this process


async def check_config(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir, auth_token="tok", home_assistant_token="ha-secret") as bridge, \
            http(bridge, headers={"Authorization": "Bearer tok"}) as client:
        (profile_dir / "profile.json").write_text(json.dumps({"mqtt": {"password": "pw", "username": "u"}}))
        config = await client.get("/api/config")
        patched = await client.patch("/api/config", json={"bridge": {"reply_timeout": 7.5},
                                                          "bridge.jwt_secret": "new-secret",
                                                          "nlu": {"fuzzy": False}, "log_level": "DEBUG"})
        invalid = await client.patch("/api/config", json={"bridge": {"reply_timeout": -1}})
        typo = await client.patch("/api/config", json={"nlu": {"fuzy": True}})
        unknown_top = await client.patch("/api/config", json={"wake_word": "x"})
        empty = await client.patch("/api/config", json={})
        stored = json.loads((profile_dir / "profile.json").read_text())
        live_timeout = bridge.settings.reply_timeout
        live_secret = bridge.settings.jwt_secret
        again = await client.get("/api/config")
    text = config.text
    assert config.status_code == 200
    for secret in ("tok", "ha-secret", "pw"):
        assert f'"{secret}"' not in text
    data = config.json()
    assert data["bridge"]["auth_token"] == "********" and data["mqtt"]["password"] == "********"
    assert data["mqtt"]["username"] == "u"
    assert patched.status_code == 200, patched.text
    result = patched.json()
    assert set(result["changed"]) == {"bridge.reply_timeout", "bridge.jwt_secret", "nlu.fuzzy", "log_level"}
    assert set(result["applied"]) == {"bridge.reply_timeout", "bridge.jwt_secret", "log_level"}
    assert result["restartRequired"] == ["nlu.fuzzy"]
    assert live_timeout == 7.5 and live_secret is not None and live_secret.get_secret_value() == "new-secret"
    assert stored["bridge"] == {"reply_timeout": 7.5, "jwt_secret": "new-secret"} and stored["nlu"] == {"fuzzy": False}
    assert stored["mqtt"] == {"password": "pw", "username": "u"}
    assert invalid.status_code == 400 and "reply_timeout" in invalid.text
    assert typo.status_code == 422 and "nlu.fuzy" in typo.text  # unknown keys are named (issue 19)
    assert unknown_top.status_code == 422 and "'wake_word'" in unknown_top.text  # a top-level key too (issue 14)
    assert "wake_word" not in stored and "fuzy" not in stored["nlu"]  # refused keys never reach profile.json
    assert empty.status_code == 400
    assert "new-secret" not in again.text
    assert not list(profile_dir.glob(".profile.json.*"))


async def test_stop_ends_the_session_and_toggles_the_output(mqtt_broker, profile_dir, mqtt_client, site_id):
    await mqtt_client.subscribe(DialogueEndSession.subscribe_filter(), AudioToggleOff.subscribe_filter(),
                                AudioToggleOn.subscribe_filter())
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        await mqtt_client.publish(DialogueSessionStarted(session_id="sess-1", site_id=site_id))
        for _ in range(500):
            if site_id in bridge.site_states.sites:
                break
            await asyncio.sleep(0.01)
        reply = await client.post("/api/stop", params={"siteId": site_id})
        ended = await mqtt_client.expect(DialogueEndSession, where=lambda m: m.session_id == "sess-1")
        await mqtt_client.expect(AudioToggleOn, where=lambda m: m.site_id == site_id)
    assert reply.json() == {"siteId": site_id, "endedSession": "sess-1"}
    assert ended.session_id == "sess-1"
    assert mqtt_client.received(AudioToggleOff, where=lambda m: m.site_id == site_id)


async def test_languages_tts_test_restart_and_shutdown(mqtt_broker, profile_dir, site_id):
    async with mesh(mqtt_broker, profile_dir, tts=True, output=True) as bridge, http(bridge) as client:
        languages = (await client.get("/api/languages")).json()
        tts = await client.post("/api/tts/test", json={"text": "testing", "siteId": site_id})
        default_tts = await client.post("/api/tts/test")
        bad = await client.post("/api/tts/test", content="[", headers={"Content-Type": "application/json"})
        untyped = await client.post("/api/tts/test", content="[")
        (profile_dir / "profile.json").write_text(json.dumps({"bridge": {"reply_timeout": 9}}))
        restarted = await client.post("/api/restart")
        timeout_after = bridge.settings.reply_timeout
        down = await client.post("/api/shutdown")
        await asyncio.wait_for(bridge._stopping.wait(), 5)
    assert languages["language"] == "en" and "en-us" in languages["tts"]
    assert tts.status_code == 200 and tts.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(tts.content)) as wav:
        assert wav.getnframes() > 0
    assert default_tts.status_code == 200
    assert bad.status_code == 400 and untyped.status_code == 415
    assert restarted.text == "Restarted Rhasspy" and timeout_after == 9
    assert down.text == "Shutting down"


async def test_languages_come_from_the_tts_service_and_are_unknown_without_it(mqtt_broker, profile_dir):
    """Not from espeak-ng on the bridge's machine: the TTS may run elsewhere, with another engine."""
    async with mesh(mqtt_broker, profile_dir, reply_timeout=1) as bridge, http(bridge) as client:
        without = await client.get("/api/languages")
    assert without.status_code == 200
    assert without.json()["language"] == "en" and without.json()["tts"] is None
    assert "tts" in without.json()["ttsError"], without.json()


async def test_home_assistant_status_and_command(mqtt_broker, profile_dir):
    async with home_assistant("ha-token") as (url, received):
        async with run_bridge(mqtt_broker, profile_dir, home_assistant_url=url,
                              home_assistant_token="ha-token") as bridge, http(bridge) as client:
            status = (await client.get("/api/homeassistant/status")).json()
            overall = (await client.get("/api/status")).json()
            command = await client.post("/api/homeassistant/command", json={"text": "turn on the bedroom light"})
            plain = await client.post("/api/homeassistant/command", content="turn on the light",
                                      headers={"Content-Type": "text/plain"})
            empty = await client.post("/api/homeassistant/command", json={"text": " "})
        async with run_bridge(mqtt_broker, profile_dir, home_assistant_url=url,
                              home_assistant_token="wrong") as bridge, http(bridge) as client:
            rejected = (await client.get("/api/homeassistant/status")).json()
            rejected_command = await client.post("/api/homeassistant/command", json={"text": "hi"})
        async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
            unconfigured = await client.post("/api/homeassistant/command", json={"text": "hi"})
    assert status["reachable"] is True and status["authorized"] is True
    assert overall["homeAssistant"] == {"configured": True, "reachable": True}
    assert command.status_code == 200 and command.json()["speech"] == "Turned on the light"
    assert received[0] == {"text": "turn on the bedroom light", "language": "en"}
    assert plain.status_code == 200 and received[1]["text"] == "turn on the light"
    assert empty.status_code == 400
    assert rejected["authorized"] is False and "401" in rejected["message"]
    assert rejected_command.status_code == 502 and "token" in rejected_command.text
    assert unconfigured.status_code == 503 and "home_assistant_url" in unconfigured.text


async def test_home_assistant_unreachable(mqtt_broker, profile_dir):
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    async with run_bridge(mqtt_broker, profile_dir, home_assistant_url=url, home_assistant_token="x") as bridge, \
            http(bridge) as client:
        status = (await client.get("/api/homeassistant/status")).json()
        command = await client.post("/api/homeassistant/command", json={"text": "hi"})
    assert status["reachable"] is False and "cannot reach" in status["message"]
    assert command.status_code == 502 and url in command.text


async def test_home_assistant_settings_of_the_intent_handler_are_used(mqtt_broker, profile_dir):
    async with home_assistant("handler-token") as (url, _):
        (profile_dir / "profile.json").write_text(json.dumps(
            {"intent_handler": {"home_assistant": {"url": url + "/", "access_token": "handler-token"}}}))
        async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
            status = (await client.get("/api/homeassistant/status")).json()
            config = await client.get("/api/config")
    assert status["url"] == url and status["authorized"] is True
    assert "handler-token" not in config.text


async def test_metrics_follow_sessions_seen_on_the_broker(mqtt_broker, profile_dir, mqtt_client, site_id):
    from hermes.dialogue import DialogueSessionEnded

    async with mesh(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        await mqtt_client.publish(DialogueSessionStarted(session_id="m1", site_id=site_id))
        await mqtt_client.publish(DialogueSessionEnded(session_id="m1", site_id=site_id,
                                                       termination={"reason": "timeout"}))
        for _ in range(200):
            text = (await client.get("/metrics")).text
            if 'hermesh_sessions_ended_total{reason="timeout"} 1' in text:
                break
            await asyncio.sleep(0.05)
        response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert 'hermesh_sessions_ended_total{reason="timeout"} 1' in response.text
    assert 'hermesh_service_up{service="nlu"' in response.text
    assert "hermesh_messages_total" in response.text

"""Bad input to the bridge gets a clear 4xx, never a 500 or a reset connection (issue 19, section 2)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import pytest
from websockets.exceptions import InvalidStatus

from tests.bridge.harness import http, next_json, run_bridge, websocket

DEEP = "[" * 100_000 + "]" * 100_000
JSON = {"Content-Type": "application/json"}


def json_operations(spec: dict) -> list[tuple[str, str]]:
    """(method, path) of every operation that takes a JSON body, by the bridge's own OpenAPI document."""
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            described = (operation.get("requestBody") or {}).get("description", "")
            if "application/json" in content or "application/json" in described:
                found.append((method.upper(), path.replace("{name}", "x").replace("{topic}", "t")))
    return found


async def test_deep_json_is_a_400_on_every_json_endpoint(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir, home_assistant_url="http://127.0.0.1:9",
                          home_assistant_token="t") as bridge, http(bridge) as client:
        operations = json_operations((await client.get("/openapi.json")).json())
        replies = {f"{m} {p}": await client.request(m, p, content=DEEP, headers=JSON) for m, p in operations}
        objects = {f"{m} {p}": await client.request(m, p, content='{"a":' * 70 + "1" + "}" * 70, headers=JSON)
                   for m, p in operations}
        still = await client.get("/api/version")
    assert {"POST /api/profile", "PATCH /api/config", "POST /api/slots", "POST /api/slots/x", "POST /api/tts/test",
            "POST /api/handle-intent", "POST /api/sentences", "POST /api/homeassistant/command"} <= set(replies)
    for name, reply in [*replies.items(), *objects.items()]:
        assert reply.status_code == 400, (name, reply.status_code, reply.text[:200])
        assert "deeper than" in reply.text, name
    assert still.status_code == 200


async def test_json_only_endpoints_refuse_other_content_types(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        spec = (await client.get("/openapi.json")).json()
        only_json = [(method.upper(), path, operation) for path, item in spec["paths"].items()
                     for method, operation in item.items()
                     if list((operation.get("requestBody") or {}).get("content", {})) == ["application/json"]]
        replies = [(method, path, operation, await client.request(method, path.replace("{name}", "x"),
                                                                  content='{"x": 1}', headers={"Content-Type": kind}))
                   for method, path, operation in only_json
                   for kind in ("text/plain", "application/x-www-form-urlencoded")]
    assert len(only_json) >= 6
    for method, path, operation, reply in replies:
        assert reply.status_code == 415 and "application/json" in reply.text, (method, path, reply.status_code)
        assert "415" in operation["responses"], (method, path)


async def test_deep_websocket_frames_do_not_kill_the_socket(mqtt_broker, profile_dir, mqtt_client):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, websocket(bridge, "/api/mqtt") as socket:
        await socket.send(DEEP)
        await socket.send(json.dumps({"type": "subscribe", "topic": "hermesh/test/deep"}))
        async with asyncio.timeout(10):  # frames are handled in order: the deep one did not stop the reader
            while "hermesh/test/deep" not in bridge.tap.confirmed:
                await asyncio.sleep(0.01)
        await mqtt_client.publish_raw("hermesh/test/deep", DEEP)  # skipped like binary payloads
        await mqtt_client.publish_raw("hermesh/test/deep", json.dumps({"ok": True}))
        frame = await next_json(socket)
    assert frame == {"topic": "hermesh/test/deep", "payload": {"ok": True}}


@pytest.mark.parametrize("options", [{"lang": 5}, {"siteId": "a/b/#"}, {"siteId": 7}, {"text": ["x"]},
                                     {"siteId": "x" * 65}, {"siteId": ""}, {"lang": {"a": 1}}])
async def test_tts_test_options_are_checked(mqtt_broker, profile_dir, options):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        reply = await client.post("/api/tts/test", json=options)
    assert reply.status_code == 400, reply.text


@pytest.mark.parametrize("site", ["a/b", "kitchen+", "#", "x" * 65, "bad\nsite"])
async def test_bad_site_ids_are_refused_wherever_they_enter(mqtt_broker, profile_dir, site):
    intent = {"input": "x", "intent": {"intentName": "X", "confidenceScore": 1.0}, "siteId": site}
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        params = {"siteId": site}
        replies = [
            await client.post("/api/text-to-intent", params=params, content="what time is it"),
            await client.post("/api/text-to-speech", params=params, content="hello"),
            await client.post("/api/listen-for-command", params=params),
            await client.post("/api/set-volume", params=params, content="0.5"),
            await client.post("/api/listen-for-wake", params=params, content="on"),
            await client.post("/api/stop", params=params),
            await client.post("/api/tts/test", json={"siteId": site}),
            await client.post("/api/handle-intent", json=intent),
            await client.get("/api/tts-voices", params=params),
        ]
        with pytest.raises(InvalidStatus) as audio:
            async with websocket(bridge, "/api/audio?siteId=" + quote(site, safe="")):
                pass
    for reply in replies:
        assert reply.status_code == 400, (reply.request.url, reply.status_code, reply.text)
        assert "site id" in reply.text
    assert audio.value.response.status_code == 403


@pytest.mark.parametrize("timeout", ["inf", "-inf", "nan", "-1", "0", "1e9", "3601", "soon"])
async def test_listen_for_command_timeouts_are_finite_and_bounded(mqtt_broker, profile_dir, timeout):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge, timeout=10) as client:
        reply = await client.post("/api/listen-for-command", params={"timeout": timeout})
    assert reply.status_code == 400 and "timeout" in reply.text, reply.text


async def test_a_bounded_timeout_is_honoured(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge, timeout=10) as client:
        reply = await client.post("/api/listen-for-command", params={"timeout": "0.5"})
    assert reply.status_code == 503 and "dialogue" in reply.text  # nobody answered within half a second


@pytest.mark.parametrize("volume", ["2", "-0.1", "nan", "inf", "loud"])
async def test_tts_volume_is_between_0_and_1(mqtt_broker, profile_dir, volume):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        reply = await client.post("/api/text-to-speech", params={"volume": volume}, content="hello")
    assert reply.status_code == 400 and "volume" in reply.text


async def test_texts_are_capped_and_the_cap_is_documented(mqtt_broker, profile_dir):
    from bridge.http_util import MAX_TEXT_CHARS

    long = "a" * (MAX_TEXT_CHARS + 1)
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        replies = [await client.post("/api/text-to-intent", content=long),
                   await client.post("/api/text-to-speech", content=long),
                   await client.post("/api/tts/test", json={"text": long})]
        spec = (await client.get("/openapi.json")).json()
    for reply in replies:
        assert reply.status_code == 413 and str(MAX_TEXT_CHARS) in reply.text
    assert f"{MAX_TEXT_CHARS:,}" in spec["info"]["description"]
    assert str(MAX_TEXT_CHARS) in spec["paths"]["/api/text-to-intent"]["post"]["requestBody"]["description"]


async def test_setting_timeouts_cannot_be_infinite(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        infinite = await client.patch("/api/config", content='{"bridge": {"reply_timeout": Infinity}}',
                                      headers=JSON)
        huge = await client.patch("/api/config", json={"bridge": {"reply_timeout": 1e9}})
        service = await client.patch("/api/config", content='{"dialogue": {"session_timeout": NaN}}', headers=JSON)
    assert infinite.status_code == 400 and "reply_timeout" in infinite.text
    assert huge.status_code == 400 and service.status_code == 400


async def test_file_names_colliding_with_folders_are_a_409_and_deletes_work(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        folder = await client.post("/api/slots", json={"rooms/kitchen": ["oven"]})
        slot_on_folder = await client.post("/api/slots", json={"rooms": ["x"]})
        one_on_folder = await client.post("/api/slots/rooms", json=["x"])
        read_folder = await client.get("/api/slots/rooms")
        under_file = await client.post("/api/slots", json={"color/dark": ["black"]})
        deleted = await client.post("/api/slots/rooms/kitchen", params={"overwriteAll": "true"}, json=[])
        after_delete = await client.post("/api/slots", json={"rooms": ["hall"]})  # the emptied folder is gone
        ini_folder = await client.post("/api/sentences", json={"intents/zz.ini/x.ini": "[X]\nx\n"})
        (profile_dir / "intents" / "dir.ini").mkdir(parents=True)
        on_dir = await client.post("/api/sentences", json={"intents/dir.ini": "[X]\nx\n"})
        delete_dir = await client.post("/api/sentences", json={"intents/dir.ini": ""})
        nested = await client.post("/api/sentences", json={"intents/rooms/extra.ini": "[Extra]\nextra\n"})
        gone = await client.post("/api/sentences", json={"intents/rooms/extra.ini": " "})
        files = (await client.get("/api/sentences", headers={"Accept": "application/json"})).json()
    assert folder.status_code == 200
    for reply in (slot_on_folder, one_on_folder, read_folder, under_file, on_dir, delete_dir):
        assert reply.status_code == 409, (reply.request.url, reply.status_code, reply.text)
    assert "folder" in slot_on_folder.text or "directory" in slot_on_folder.text
    assert deleted.status_code == 200 and after_delete.status_code == 200
    assert (profile_dir / "slots" / "rooms").read_text() == "hall\n"
    assert ini_folder.status_code == 400 and "zz.ini" in ini_folder.text
    assert nested.status_code == 200 and gone.status_code == 200
    assert "intents/rooms/extra.ini" not in files and not (profile_dir / "intents" / "rooms").exists()

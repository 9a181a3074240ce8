"""The OpenAPI document and offline docs, `hermesh bridge` as a process, and the Wyoming server beside it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import httpx

from services.config import HttpSettings
from tests.conftest import free_port, make_common

from .harness import http, run_bridge

RHASSPY_ENDPOINTS = [
    ("post", "/api/text-to-intent"), ("post", "/api/speech-to-text"), ("post", "/api/speech-to-intent"),
    ("post", "/api/listen-for-command"), ("post", "/api/start-recording"), ("post", "/api/stop-recording"),
    ("post", "/api/text-to-speech"), ("post", "/api/handle-intent"), ("get", "/api/version"), ("post", "/api/train"),
    ("post", "/api/restart"), ("get", "/api/profile"), ("post", "/api/profile"), ("get", "/api/sentences"),
    ("post", "/api/sentences"), ("get", "/api/slots"), ("post", "/api/slots"), ("get", "/api/slots/{name}"),
    ("post", "/api/slots/{name}"), ("get", "/api/custom-words"), ("post", "/api/custom-words"),
    ("post", "/api/lookup"), ("post", "/api/pronounce"), ("get", "/api/phonemes"), ("get", "/api/unknown-words"),
    ("get", "/api/intents"), ("post", "/api/evaluate"), ("get", "/api/backup-profile"),
    ("post", "/api/listen-for-wake"), ("post", "/api/play-wav"), ("get", "/api/play-recording"),
    ("post", "/api/play-recording"), ("post", "/api/set-volume"), ("get", "/api/microphones"),
    ("get", "/api/test-microphones"), ("get", "/api/speakers"), ("get", "/api/wake-words"),
    ("get", "/api/tts-voices"), ("get", "/api/mqtt/{topic}"), ("post", "/api/mqtt/{topic}"),
    ("get", "/api/status"), ("get", "/api/config"), ("patch", "/api/config"), ("post", "/api/stop"),
    ("post", "/api/shutdown"), ("get", "/api/languages"), ("post", "/api/tts/test"),
    ("get", "/api/homeassistant/status"), ("post", "/api/homeassistant/command"),
    ("post", "/api/download-profile"), ("get", "/api/download-status"), ("post", "/api/system"),
]


async def test_openapi_describes_every_endpoint_with_its_content_types(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        spec = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
        alias = await client.get("/openapi/")
        root = await client.get("/")
    assert spec["openapi"].startswith("3.")
    for method, path in RHASSPY_ENDPOINTS:
        operation = spec["paths"][path][method]
        assert operation["summary"], path
        assert operation["responses"]["200"]["content"], path
    bodies = {(m, p): list(spec["paths"][p][m].get("requestBody", {}).get("content", {}))
              for m, p in RHASSPY_ENDPOINTS}
    assert bodies[("post", "/api/speech-to-text")] == ["audio/wav"]
    assert bodies[("post", "/api/text-to-intent")] == ["text/plain"]
    assert bodies[("post", "/api/slots")] == ["application/json"]
    assert bodies[("post", "/api/evaluate")] == ["multipart/form-data"]
    assert bodies[("post", "/api/system")] == ["text/plain"]
    assert "501" in spec["paths"]["/api/system"]["post"]["responses"]
    assert spec["paths"]["/api/intents"]["get"]["parameters"][0]["name"] == "templates"
    assert list(spec["paths"]["/api/text-to-speech"]["post"]["responses"]["200"]["content"]) == ["audio/wav"]
    assert "/api/audio" in spec["info"]["description"] and "16 kHz 16-bit mono" in spec["info"]["description"]
    for socket in ("/api/events/intent", "/api/events/text", "/api/events/wake", "/api/events/log", "/api/mqtt"):
        assert socket in spec["info"]["description"]
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in docs.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", docs.text), "the docs page must load nothing external"
    assert alias.status_code in (307, 200)
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")  # the web UI itself
    assert '<script type="module" src="web/js/app.js">' in root.text  # relative: works under --url-root


async def test_wyoming_server_starts_with_the_bridge(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir, wyoming=True) as bridge:
        assert bridge.wyoming is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", bridge.common.http.wyoming_port)
        writer.write(b'{"type": "describe"}\n')
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
    assert b'"info"' in line


async def test_hermesh_bridge_process_starts_serves_and_stops(mqtt_broker, profile_dir):
    port = free_port()
    env = {**os.environ, "HERMESH_BRIDGE__WYOMING": "false", "HERMESH_BRIDGE__AUTH_TOKEN": "cli-token"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "bridge", "--profile", str(profile_dir), "--mqtt-port",
        str(mqtt_broker.port), "--http-port", str(port), "--set", "reply_timeout=5",
        stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for _ in range(300):
                try:
                    reply = await client.get("/api/version", params={"token": "cli-token"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            denied = await client.get("/api/version")
        assert reply.text == "2.5.11" and denied.status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()
    log = err.decode()
    assert f"HTTP API on http://127.0.0.1:{port} (authentication required" in log
    assert "Traceback" not in log


def test_common_settings_reach_the_bridge(mqtt_broker, profile_dir):
    common = make_common(mqtt_broker, profile_dir, http=HttpSettings(port=12345))
    assert common.http.host == "127.0.0.1"  # loopback unless asked otherwise

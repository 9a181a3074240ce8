"""``--url-root`` / ``bridge.url_root`` (issue 14): every route, the websockets, the OpenAPI document, the docs
page and the web UI's files move under the prefix; paths outside it are a 404; the prefix is validated."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpx
import pytest
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bridge.settings import BridgeSettings
from tests.conftest import free_port

from .harness import http, next_json, wait_subscribers, websocket, ws_url
from .mesh import mesh
from .test_websockets import sample_intent

ROOT = "/hermesh/v1"


def outside(bridge) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """A client at the server's origin, without the prefix."""
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{bridge.http_port}", timeout=30)


async def test_routes_websockets_openapi_and_web_ui_move_under_the_prefix(mqtt_broker, profile_dir, mqtt_client,
                                                                         site_id):
    async with mesh(mqtt_broker, profile_dir, url_root=ROOT + "/") as bridge, \
            http(bridge) as client, outside(bridge) as bare:
        assert bridge.base_url.endswith(ROOT)  # "/hermesh/v1/" was normalised: one form, no trailing slash
        version = await client.get("/api/version")
        intent = await client.post("/api/text-to-intent", content="what time is it", params={"nohass": "true"})
        # The Origin rule compares scheme, host and port: the UI's own page under the prefix may post, others not.
        own_origin = await client.post("/api/text-to-intent", content="what time is it",
                                       headers={"Origin": f"http://127.0.0.1:{bridge.http_port}"})
        foreign = await client.post("/api/text-to-intent", content="what time is it",
                                    headers={"Origin": "http://evil.example"})
        spec = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
        index = await client.get("/")
        redirect = await bare.get(ROOT)
        app_js = await client.get("/web/js/app.js")
        style = await client.get("/web/style.css")
        web_index = await client.get("/web/index.html")
        unprefixed = await bare.get("/api/version")
        unprefixed_ui = await bare.get("/")
        half = await bare.get("/hermesh/api/version")
        async with websocket(bridge, "/api/events/intent") as intents:
            await wait_subscribers(bridge, "intent")
            await mqtt_client.publish(sample_intent(site_id))
            frame = await next_json(intents)
        with pytest.raises(InvalidStatus):
            async with connect(ws_url(bridge, "/api/events/intent").replace(ROOT, ""), open_timeout=10):
                pass
    assert version.status_code == 200 and version.text == "2.5.11"
    assert intent.json()["intent"]["name"] == "GetTime"
    assert own_origin.status_code == 200 and foreign.status_code == 403
    assert spec["servers"] == [{"url": ROOT}]  # paths are relative to it, as OpenAPI 3 says
    assert "/api/version" in spec["paths"] and not any(p.startswith(ROOT) for p in spec["paths"])
    assert f"fetch('{ROOT}/openapi.json')" in docs.text and "base + path" in docs.text
    assert index.status_code == 200 and 'src="web/js/app.js"' in index.text and "src=\"/" not in index.text
    assert redirect.status_code in (307, 308) and redirect.headers["location"] == ROOT + "/"
    assert app_js.status_code == 200 and style.status_code == 200
    assert web_index.status_code == 307 and web_index.headers["location"] == ROOT + "/"  # where its links work
    assert unprefixed.status_code == 404 and f"{ROOT}/" in unprefixed.text
    assert unprefixed_ui.status_code == 404 and half.status_code == 404
    assert frame["siteId"] == site_id and frame["intent"]["name"] == "ChangeLightColor"


async def test_a_prefix_named_like_a_route(mqtt_broker, profile_dir):
    """/api as the root: /api/api/version is the version route, /api/version is outside the root."""
    async with mesh(mqtt_broker, profile_dir, url_root="/api") as bridge, outside(bridge) as bare:
        inside = await bare.get("/api/api/version")
        outside_root = await bare.get("/api/version")
    assert inside.text == "2.5.11" and outside_root.status_code == 404


async def test_auth_and_public_paths_under_the_prefix(mqtt_broker, profile_dir):
    async with mesh(mqtt_broker, profile_dir, url_root="/voice", auth_token="tok") as bridge, \
            http(bridge) as client:
        index = await client.get("/")
        static = await client.get("/web/js/api.js")
        denied = await client.get("/api/version")
        allowed = await client.get("/api/version", params={"token": "tok"})
    assert index.status_code == 200 and static.status_code == 200  # the UI loads, then asks for the token
    assert denied.status_code == 401 and allowed.text == "2.5.11"


@pytest.mark.parametrize("value, stored", [("", ""), ("/", ""), ("/hermesh", "/hermesh"),
                                           ("/hermesh/", "/hermesh"), ("/a/b-c_d.e~f", "/a/b-c_d.e~f")])
def test_url_root_values(value, stored):
    assert BridgeSettings(url_root=value).url_root == stored


@pytest.mark.parametrize("value", ["hermesh", "/a/../b", "/..", "/a//b", "/a/./b", "/%2e%2e", "/a b", "/a?x=1",
                                   "/a#b", "//evil.example"])
def test_bad_url_roots_are_refused_with_the_rule(value):
    with pytest.raises(ValidationError, match="url_root"):
        BridgeSettings(url_root=value)


async def test_hermesh_bridge_url_root_flag(mqtt_broker, profile_dir):
    port = free_port()
    env = {**os.environ, "HERMESH_BRIDGE__WYOMING": "false"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "bridge", "--profile", str(profile_dir), "--mqtt-port",
        str(mqtt_broker.port), "--http-port", str(port), "--url-root", "/rhasspy",
        stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for _ in range(300):
                try:
                    reply = await client.get("/rhasspy/api/version")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            bare = await client.get("/api/version")
        assert reply.text == "2.5.11" and bare.status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()
    assert f"HTTP API on http://127.0.0.1:{port}/rhasspy" in err.decode()

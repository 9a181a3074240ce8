"""A web page must not be able to drive the bridge: foreign Origin, text/plain JSON, DNS rebinding, CORS.

The chain of issue 19 against a real broker, a real bridge and the real NLU: a page POSTs a profile that runs a
program, restarts the mesh, then sends a command. Every step must fail on its own, while clients that send no
Origin (curl, Home Assistant, rhasspy-client) and the bridge's own web UI keep working.
"""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus

from tests.bridge.harness import http, run_bridge, websocket
from tests.bridge.mesh import mesh

EVIL = "http://evil.example"


def attack_profile(marker: str) -> dict:
    return {"intent_handler": {"command": {"program": "/bin/touch", "arguments": [marker]}}}


async def test_the_csrf_chain_fails_at_every_step(mqtt_broker, profile_dir, tmp_path):
    marker = str(tmp_path / "pwned")
    before = (profile_dir / "profile.json").read_text()
    async with mesh(mqtt_broker, profile_dir, train=True) as bridge, http(bridge) as client:
        port = bridge.http_port
        body = json.dumps(attack_profile(marker))
        # 1. the page's "simple" request: foreign Origin, text/plain (no preflight would be needed)
        csrf = await client.post("/api/profile", content=body,
                                 headers={"Origin": EVIL, "Content-Type": "text/plain"})
        # 2. the same JSON as text/plain without Origin: a JSON endpoint wants application/json
        as_text = await client.post("/api/profile", content=body, headers={"Content-Type": "text/plain"})
        # 3. DNS rebinding: the page's own name now points at 127.0.0.1, so its Origin looks same-origin
        rebound = await client.post("/api/profile", content=body, headers={
            "Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}",
            "Content-Type": "application/json"})
        rebound_read = await client.get("/api/profile", headers={"Host": f"evil.example:{port}"})
        # 4. even a well-formed request without Origin may not set a program without an admin token
        program = await client.post("/api/profile", content=body, headers={"Content-Type": "application/json"})
        patched = await client.patch("/api/config", json={"intent_handler.command.program": "/bin/touch"})
        # 5. restart and command from the page
        restart = await client.post("/api/restart", headers={"Origin": EVIL})
        command = await client.post("/api/text-to-intent", content="what time is it",
                                    headers={"Origin": EVIL, "Content-Type": "text/plain"})
        preflight = await client.options("/api/profile", headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        read = await client.get("/api/profile", headers={"Origin": EVIL})
        # what must keep working: no Origin (curl, Home Assistant), and the bridge's own pages
        plain_client = await client.post("/api/text-to-intent", content="what time is it")
        own_page = await client.post("/api/text-to-intent", content="what time is it",
                                     headers={"Origin": bridge.base_url, "Content-Type": "text/plain"})
        by_name = await client.post("/api/text-to-intent", content="what time is it",
                                    headers={"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})
    assert csrf.status_code == 403 and "evil.example" in csrf.text and "bridge.cors_origins" in csrf.text
    assert as_text.status_code == 415 and "application/json" in as_text.text
    assert rebound.status_code == 403 and "bridge.allowed_hosts" in rebound.text
    assert rebound_read.status_code == 403
    assert program.status_code == 403 and "intent_handler.command" in program.text and "profile.json" in program.text
    assert patched.status_code == 403 and "intent_handler.command.program" in patched.text
    assert restart.status_code == 403 and command.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in read.headers
    assert (profile_dir / "profile.json").read_text() == before
    assert not (tmp_path / "pwned").exists()
    assert plain_client.status_code == 200 and plain_client.json()["intent"]["name"] == "GetTime"
    assert own_page.status_code == 200 and by_name.status_code == 200


async def test_a_listed_origin_gets_cors_and_may_write(mqtt_broker, profile_dir):
    friend = "https://ha.example:8123"
    async with run_bridge(mqtt_broker, profile_dir, cors_origins=[friend]) as bridge, http(bridge) as client:
        preflight = await client.options("/api/slots", headers={
            "Origin": friend, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        wrote = await client.post("/api/slots", json={"color": ["teal"]}, headers={"Origin": friend})
        read = await client.get("/api/slots", headers={"Origin": friend})
        other = await client.get("/api/slots", headers={"Origin": EVIL})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == friend
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert wrote.status_code == 200 and wrote.headers["access-control-allow-origin"] == friend
    assert read.headers["access-control-allow-origin"] == friend and "Origin" in read.headers["vary"]
    assert "access-control-allow-origin" not in other.headers


def test_a_wildcard_origin_is_refused_in_the_settings():
    from bridge.settings import BridgeSettings
    from services.config import ConfigError, validate_layer

    with pytest.raises(ConfigError, match="not allowed"):
        validate_layer(BridgeSettings, {"cors_origins": ["*"]}, "profile.json section 'bridge'")
    with pytest.raises(ConfigError, match="not an origin"):
        validate_layer(BridgeSettings, {"cors_origins": ["evil.example"]}, "profile.json section 'bridge'")
    assert BridgeSettings().cors_origins == []


async def test_websocket_upgrades_from_a_foreign_origin_are_refused(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge:
        for path in ("/api/events/intent", "/api/mqtt", "/api/audio"):
            with pytest.raises(InvalidStatus) as refused:
                async with websocket(bridge, path, origin=EVIL):
                    pass
            assert refused.value.response.status_code == 403
        async with websocket(bridge, "/api/events/log", origin=bridge.base_url):
            pass  # the web UI's own socket
        async with websocket(bridge, "/api/events/log"):
            pass  # a client without Origin


@pytest.mark.parametrize(("host", "allowed"), [
    ("127.0.0.1:{port}", True), ("localhost:{port}", True), ("[::1]:{port}", True), ("192.168.1.20", True),
    ("{hostname}:{port}", True), ("hermesh.lan:{port}", True), ("HERMESH.LAN.", True),
    ("evil.example:{port}", False), ("127.0.0.1.evil.example", False), ("localhost.evil.example:{port}", False),
    ("evil.example@127.0.0.1", False), ("[::1", False),
])
async def test_the_host_header_must_name_this_machine(mqtt_broker, profile_dir, host, allowed):
    import socket

    async with run_bridge(mqtt_broker, profile_dir, allowed_hosts=["hermesh.lan"]) as bridge, \
            http(bridge) as client:
        value = host.format(port=bridge.http_port, hostname=socket.gethostname())
        reply = await client.get("/api/version", headers={"Host": value})
    assert (reply.status_code == 200) is allowed, (value, reply.status_code, reply.text)
    if not allowed:
        assert reply.status_code == 403 and "bridge.allowed_hosts" in reply.text


def test_host_and_origin_rules_without_a_server():
    from bridge.request_policy import host_allowed, own_origin, parse_origin

    assert own_origin("http", "127.0.0.1:80") == "http://127.0.0.1" == parse_origin("http://127.0.0.1:80")
    assert own_origin("wss", "Bridge.LAN:443") == "https://bridge.lan" == parse_origin("https://bridge.lan")
    assert own_origin("http", "[::1]:12101") == parse_origin("http://[::1]:12101")
    assert parse_origin("null") is None and parse_origin("file://") is None
    assert host_allowed(None, []) and host_allowed("10.0.0.7:12101", [])
    assert not host_allowed("rebind.example:12101", []) and host_allowed("rebind.example:12101", ["rebind.example"])

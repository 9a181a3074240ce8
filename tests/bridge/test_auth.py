"""The auth matrix (none, wrong token, right token, user vs admin JWT, other site), websockets, TLS, limits."""

from __future__ import annotations

import ssl
import subprocess
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from bridge.auth import AuthError, decode_jwt, encode_jwt

from .harness import http, next_json, run_bridge, wait_subscribers, websocket
from .mesh import mesh

TOKEN = "s3cret-token"
SECRET = "jwt-signing-secret"


def jwt(username: str, role: str, secret: str = SECRET, **extra: object) -> str:
    return encode_jwt({"user": {"username": username, "role": role}, **extra}, secret)


async def test_auth_matrix_over_http(mqtt_broker, profile_dir, site_id):
    admin, user = jwt("boss", "admin"), jwt(site_id, "user")
    async with mesh(mqtt_broker, profile_dir, auth_token=TOKEN, jwt_secret=SECRET) as bridge, \
            http(bridge) as client:
        async def post(token: str | None, site: str | None = None, how: str = "header") -> httpx.Response:
            params = {"siteId": site} if site else {}
            headers = {}
            if token and how == "header":
                headers["Authorization"] = f"Bearer {token}"
            elif token:
                params["token"] = token
            return await client.post("/api/text-to-intent", content="what time is it", params=params,
                                     headers=headers)

        none = await post(None)
        wrong = await post("nope")
        right = await post(TOKEN)
        query = await post(TOKEN, how="query")
        as_admin = await post(admin, site_id + "-other")
        user_own = await post(user, site_id)
        user_default = await post(user)
        user_other = await post(user, site_id + "-other")
        user_admin_only = await client.post("/api/train", headers={"Authorization": f"Bearer {user}"})
        user_config = await client.get("/api/config", headers={"Authorization": f"Bearer {user}"})
        forged = await post(jwt("boss", "admin", secret="guess"))
        expired = await post(jwt("boss", "admin", exp=int(time.time()) - 10))
        bad_role = await post(jwt("boss", "root"))
        docs = await client.get("/docs")
        spec = await client.get("/openapi.json")
        version = await client.get("/api/version")
    assert none.status_code == 401 and none.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert right.status_code == 200 and query.status_code == 200
    assert as_admin.status_code == 200
    assert user_own.status_code == 200 and user_default.status_code == 200
    assert user_other.status_code == 403 and site_id in user_other.text
    assert user_admin_only.status_code == 403 and "admin" in user_admin_only.text
    assert user_config.status_code == 403
    assert forged.status_code == 401 and "signature" in forged.text
    assert expired.status_code == 401 and "expired" in expired.text
    assert bad_role.status_code == 401
    assert docs.status_code == 200 and spec.status_code == 200
    assert version.status_code == 401


async def test_websockets_are_authenticated_and_user_tokens_see_their_site(mqtt_broker, profile_dir, mqtt_client,
                                                                        site_id):
    from .test_websockets import sample_intent

    async with run_bridge(mqtt_broker, profile_dir, auth_token=TOKEN, jwt_secret=SECRET) as bridge:
        with pytest.raises(InvalidStatus):
            async with websocket(bridge, "/api/events/intent"):
                pass
        with pytest.raises(InvalidStatus):
            async with websocket(bridge, "/api/events/intent?token=wrong"):
                pass
        with pytest.raises(InvalidStatus):
            async with websocket(bridge, f"/api/mqtt?token={jwt(site_id, 'user')}"):
                pass
        async with websocket(bridge, f"/api/events/intent?token={jwt(site_id, 'user')}") as user_socket, \
                websocket(bridge, "/api/events/intent",
                          additional_headers={"Authorization": f"Bearer {TOKEN}"}) as admin_socket:
            await wait_subscribers(bridge, "intent", 2)
            await mqtt_client.publish(sample_intent(site_id + "-other"))
            await mqtt_client.publish(sample_intent(site_id))
            admin_frames = [await next_json(admin_socket), await next_json(admin_socket)]
            user_frame = await next_json(user_socket)
    assert [f["siteId"] for f in admin_frames] == [site_id + "-other", site_id]
    assert user_frame["siteId"] == site_id


async def test_body_limit_and_unknown_routes(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir, max_body_bytes=2048) as bridge, http(bridge) as client:
        big = await client.post("/api/text-to-intent", content="x" * 5000)

        async def chunks():
            for _ in range(10):
                yield b"y" * 1000

        streamed = await client.post("/api/sentences", content=chunks())
        missing = await client.get("/api/no-such-endpoint")
        wrong_method = await client.get("/api/train")
    assert big.status_code == 413 and "max_body_bytes" in big.text
    assert streamed.status_code == 413
    assert missing.status_code == 404 and wrong_method.status_code == 405


async def test_https_and_wss_with_certfile_and_keyfile(mqtt_broker, profile_dir, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-out", str(cert), "-keyout",
                    str(key), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(cafile=str(cert))
    async with run_bridge(mqtt_broker, profile_dir, certfile=cert, keyfile=key, auth_token=TOKEN) as bridge:
        assert bridge.base_url.startswith("https://")
        async with http(bridge, verify=context) as client:
            version = await client.get("/api/version", params={"token": TOKEN})
        async with websocket(bridge, f"/api/events/log?token={TOKEN}", ssl=context):
            await wait_subscribers(bridge, "log")
    assert version.text == "2.5.11"


def test_jwt_helpers():
    token = encode_jwt({"user": {"username": "a", "role": "user"}, "exp": 100}, "k")
    assert decode_jwt(token, "k", now=50)["user"]["username"] == "a"
    with pytest.raises(AuthError):
        decode_jwt(token, "k", now=150)
    with pytest.raises(AuthError):
        decode_jwt(token + "x", "k", now=50)
    with pytest.raises(AuthError):
        decode_jwt("a.b", "k")


async def test_loopback_message_and_warning_without_auth(mqtt_broker, profile_dir, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="hermesh")
    async with run_bridge(mqtt_broker, profile_dir):
        pass
    async with run_bridge(mqtt_broker, profile_dir, host="0.0.0.0"):
        pass
    messages = [r.getMessage() for r in caplog.records if r.name == "hermesh.bridge"]
    assert any("loopback only, no authentication" in m for m in messages)
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "WITHOUT AUTHENTICATION" in r.getMessage()]
    assert warnings

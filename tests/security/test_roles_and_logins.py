"""Who sees which site (/api/status and event sockets by token), and repeated bad tokens being refused."""

from __future__ import annotations

import asyncio

from hermes.dialogue import DialogueSessionStarted
from tests.bridge.harness import http, next_json, run_bridge, wait_subscribers, websocket

TOKEN = "admin-token"
SECRET = "jwt-secret"


def jwt(username: str, role: str, **user: object) -> str:
    from bridge.auth import encode_jwt

    return encode_jwt({"user": {"username": username, "role": role, **user}}, SECRET)


async def wait_sites(bridge, sites: set[str]) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(10):
        while not sites <= set(bridge.site_states.sites):
            await asyncio.sleep(0.01)


async def test_status_shows_each_token_only_its_sites(mqtt_broker, profile_dir, mqtt_client, site_id):
    kitchen, hall, attic = f"{site_id}-kitchen", f"{site_id}-hall", f"{site_id}-attic"
    async with run_bridge(mqtt_broker, profile_dir, auth_token=TOKEN, jwt_secret=SECRET) as bridge, \
            http(bridge) as client:
        for number, site in enumerate((kitchen, hall, attic)):
            await mqtt_client.publish(DialogueSessionStarted(session_id=f"s{number}", site_id=site))
        await wait_sites(bridge, {kitchen, hall, attic})

        async def sites(token: str) -> set[str]:
            reply = await client.get("/api/status", headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 200, reply.text
            return set(reply.json()["sites"]) & {kitchen, hall, attic}

        shared = await sites(TOKEN)
        admin = await sites(jwt("boss", "admin"))
        user = await sites(jwt(kitchen, "user"))
        scoped = await sites(jwt(kitchen, "user", sites=[hall]))
        scoped_other = await client.post("/api/text-to-intent", params={"siteId": attic}, content="hi",
                                         headers={"Authorization": f"Bearer {jwt(kitchen, 'user', sites=[hall])}"})
        user_config = await client.get("/api/config", headers={"Authorization": f"Bearer {jwt(kitchen, 'user')}"})
        bad_sites = await client.get("/api/status",
                                     headers={"Authorization": f"Bearer {jwt(kitchen, 'user', sites='x')}"})
    assert shared == admin == {kitchen, hall, attic}
    assert user == {kitchen}
    assert scoped == {kitchen, hall}
    assert scoped_other.status_code == 403 and attic in scoped_other.text
    assert user_config.status_code == 403
    assert bad_sites.status_code == 401 and "user.sites" in bad_sites.text


async def test_event_sockets_of_a_scoped_token_see_only_its_sites(mqtt_broker, profile_dir, mqtt_client, site_id):
    from tests.bridge.test_websockets import sample_intent

    kitchen, hall, attic = f"{site_id}-kitchen", f"{site_id}-hall", f"{site_id}-attic"
    token = jwt(kitchen, "user", sites=[hall])
    async with run_bridge(mqtt_broker, profile_dir, jwt_secret=SECRET) as bridge, \
            websocket(bridge, f"/api/events/intent?token={token}") as socket:
        await wait_subscribers(bridge, "intent")
        for site in (attic, hall, kitchen):
            await mqtt_client.publish(sample_intent(site))
        frames = [await next_json(socket), await next_json(socket)]
    assert [frame["siteId"] for frame in frames] == [hall, kitchen]


async def test_repeated_bad_tokens_are_refused_for_a_while(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir, auth_token=TOKEN, login_attempts_threshold=3,
                          login_ban_seconds=120) as bridge, http(bridge) as client:
        good_before = await client.get("/api/version", headers={"Authorization": f"Bearer {TOKEN}"})
        wrong = [await client.get("/api/version", headers={"Authorization": f"Bearer guess-{n}"}) for n in range(3)]
        banned = await client.get("/api/version", headers={"Authorization": f"Bearer {TOKEN}"})
        banned_query = await client.get("/api/version", params={"token": TOKEN})
        no_token = await client.get("/api/version")
        public = await client.get("/openapi.json")
    assert good_before.status_code == 200
    assert [r.status_code for r in wrong] == [401, 401, 401]
    assert banned.status_code == 429 and 0 < int(banned.headers["retry-after"]) <= 120
    assert "too many failed logins" in banned.text and "login_attempts_threshold" in banned.text
    assert banned_query.status_code == 429
    assert no_token.status_code == 401 and public.status_code == 200


def test_the_throttle_forgets_in_time_and_stays_bounded():
    from bridge.login_throttle import LoginThrottle

    throttle = LoginThrottle(threshold=3, window=60.0, max_addresses=100)
    for t in (0.0, 1.0):
        throttle.failed("10.0.0.1", t)
    assert throttle.retry_after("10.0.0.1", 2.0) == 0.0
    throttle.failed("10.0.0.1", 100.0)  # the first two are outside the window by now
    assert throttle.retry_after("10.0.0.1", 100.0) == 0.0
    throttle.failed("10.0.0.1", 101.0)
    throttle.failed("10.0.0.1", 102.0)
    assert throttle.retry_after("10.0.0.1", 102.0) == 60.0
    assert throttle.retry_after("10.0.0.2", 102.0) == 0.0  # other addresses are not affected
    assert throttle.retry_after("10.0.0.1", 162.0) == 0.0  # the ban ends
    for n in range(100_000):
        throttle.failed(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 200.0)
    assert len(throttle) == 100
    assert LoginThrottle(threshold=0, window=60.0).retry_after("x", 0.0) == 0.0

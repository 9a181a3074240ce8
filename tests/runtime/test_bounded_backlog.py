"""A site whose messages come faster than its handler can take them gets a bounded backlog: the newest are
dropped, counted and reported (once per interval), and the other sites are served as usual (issue 19 §3)."""

from __future__ import annotations

from hermes.errors import NluError
from hermes.nlu import NluIntentNotRecognized, NluQuery
from services.config import SiteStateSettings

from .echo_service import EchoService, EchoSettings

BACKLOG = 20
FLOOD = 300


async def test_a_flooded_site_keeps_a_bounded_backlog_and_the_other_sites_are_answered(
        run_service, mqtt_client, site_id) -> None:
    slow = f"{site_id}-slow"
    await mqtt_client.subscribe(NluError.subscribe_filter(), NluIntentNotRecognized.subscribe_filter())
    limits = SiteStateSettings(max_queued_per_site=BACKLOG)
    async with run_service(EchoService, settings=EchoSettings(slow_site=slow), site_state=limits) as echo:
        for n in range(FLOOD):  # each takes the handler 2 s
            await mqtt_client.publish(NluQuery(input=f"q{n}", site_id=slow, id=f"q{n}"))
        error = await mqtt_client.expect(NluError, where=lambda m: "wait to be handled" in m.error)
        await mqtt_client.publish(NluQuery(input="hello", site_id=site_id, id="other"))
        await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "other", timeout=5)
        dropped = echo.overload.dropped[slow]
        assert FLOOD - BACKLOG - 1 <= dropped <= FLOOD - BACKLOG
        assert echo._queued <= BACKLOG
    assert f"site {slow!r}" in error.error and "site_state.max_queued_per_site 20" in error.error
    # reported at most once per interval, however many were dropped
    assert len(mqtt_client.received(NluError, where=lambda m: "wait to be handled" in m.error)) == 1

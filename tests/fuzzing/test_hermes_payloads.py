"""Hypothesis payloads on every Hermes topic each service subscribes to; bad site ids in any payload.

Each catalog service runs as ``hermesh up`` builds it, on the real test broker. The fuzz run must leave no
"unexpected error" (a handler crashed on input it should have refused) and no unretrieved task exception, and
the service must still answer an ordinary request. ``bench/fuzz.py --budget`` is the long run.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from typing import Any

import pytest

from hermes.base import BinaryMessage, HermesMessage
from hermes.site_ids import SITE_ID_MAX_CHARS
from services import catalog
from tests.conftest import HermesTestClient, free_port, make_common, running

from .hermes_targets import answers_a_normal_request, expecter, fuzzed_classes, make_service
from .strategies import BAD_SITE_IDS, draw, payloads, topic_for, valid_payloads

CASES_PER_TOPIC = 8  # CI budget: about 1,300 messages over the nine services


def crash_lines(records: list[logging.LogRecord]) -> list[str]:
    bad = ("unexpected error", "Task exception was never retrieved", "exception was never retrieved")
    return [r.getMessage()[:300] for r in records
            if r.levelno >= logging.ERROR and any(b in r.getMessage() for b in bad)]


def service_for(name: str, broker: Any, profile: Any) -> Any:
    common = make_common(broker, profile)
    if name == "bridge":
        common.http.port = free_port()
        common.http.wyoming_port = free_port()
    return make_service(name, common)


def held(service: Any) -> dict[str, int]:
    """What the runtime holds per request or per site: a bad payload must leave none of it behind."""
    return {"waits": len(service._waiters), "listeners": len(service._listeners) + len(service._raw_listeners),
            "site workers": len(service._site_workers), "site queues": len(service._site_queues)}


async def settled(service: Any, before: dict[str, int], timeout: float = 60.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while held(service) != before:
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"left behind by the fuzz run: {held(service)}, before it: {before}") from None


async def drain(service: Any, timeout: float = 60.0) -> None:
    """Wait until every per-site worker of the service has finished (the fuzz messages were all handled): a
    site's queue is removed when its worker ends with nothing left to do."""
    async with asyncio.timeout(timeout):
        while service._site_queues:
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("name", sorted(catalog.SERVICES))
async def test_hypothesis_payloads_on_every_subscribed_topic(name, mqtt_broker, mqtt_client, profile_dir, caplog):
    caplog.set_level(logging.WARNING)
    service = service_for(name, mqtt_broker, profile_dir)
    tried = 0
    async with running(service, timeout=60):
        classes = fuzzed_classes(service)
        assert classes, f"{name} handles nothing"
        await drain(service)
        before = held(service)
        for index, cls in enumerate(classes):
            cases = draw(payloads(cls), CASES_PER_TOPIC, seed=None)
            topics = draw(topic_for(cls), CASES_PER_TOPIC, seed=None) if cls.topic_params() else [cls.TOPIC]
            for number, payload in enumerate(cases):
                await mqtt_client.publish_raw(topics[(number + index) % len(topics)], payload)
                tried += 1
        await drain(service)
        # "no unbounded growth" (issue 19 §5): what the fuzz run made the runtime hold is all gone again, once
        # the bounded waits it began are over (a say waits for playFinished as long as its sound lasts)
        await settled(service, before)
        checked = await answers_a_normal_request(name, service, mqtt_client.publish_raw, expecter(mqtt_client),
                                                 mqtt_client.subscribe)
        await drain(service)
        assert service._online.is_set()
    gc.collect()  # an unretrieved task exception is only logged when the task is collected
    crashes = crash_lines(caplog.records)
    assert not crashes, f"{name}: {len(crashes)} crash(es) in {tried} payloads on {len(classes)} topics: {crashes[:5]}"
    assert checked


def json_classes_with_site_in_payload(service: Any) -> list[type[HermesMessage]]:
    """Classes whose siteId is read from the JSON (where a topic-only one is, the topic's wins)."""
    return [cls for cls in fuzzed_classes(service) if not issubclass(cls, BinaryMessage)
            and "site_id" in cls.model_fields and not cls.model_fields["site_id"].exclude]


@pytest.mark.parametrize("name", sorted(catalog.SERVICES))
async def test_a_bad_site_id_in_any_payload_is_refused_with_a_hermes_error(name, mqtt_broker, mqtt_client,
                                                                          profile_dir, caplog):
    caplog.set_level(logging.WARNING)
    service = service_for(name, mqtt_broker, profile_dir)
    await mqtt_client.subscribe("#")
    async with running(service, timeout=60):
        classes = json_classes_with_site_in_payload(service)
        sent = []
        for cls in classes:
            for site in BAD_SITE_IDS:
                payload = {**draw(valid_payloads(cls), 1)[0], "siteId": site}
                topic = cls.format_topic(**{p: "fuzz" for p in cls.topic_params()})
                await mqtt_client.publish_raw(topic, json.dumps(payload).encode())
                sent.append((topic, site))
        # Long site ids in the topic level itself (a topic cannot hold '/', '+' or '#')
        for cls in fuzzed_classes(service):
            if cls.has_site_in_topic():
                sent.append((cls.format_topic(**{p: "x" * (SITE_ID_MAX_CHARS + 1) if p == "site_id" else "p"
                                                 for p in cls.topic_params()}), "x" * (SITE_ID_MAX_CHARS + 1)))
                await mqtt_client.publish_raw(sent[-1][0], draw(payloads(cls), 1)[0])
        await drain(service)
        error_class = service.error_class
        if error_class is not None and sent:
            errors = await wait_for_errors(mqtt_client, error_class, len(sent))
        await drain(service)
    refusals = [r.getMessage() for r in caplog.records if "dropped a malformed message" in r.getMessage()
                and "site id" in r.getMessage()]
    assert len(refusals) >= len(sent), (name, len(refusals), len(sent))
    if error_class is not None and sent:
        assert all(e.site_id == service.common.own_site_id and "site id" in e.error for e in errors)
    # Nothing was published under a refused site id, so no wildcard-ish or over-long topic ever appeared.
    published = {topic for topic, _ in mqtt_client._inbox} - {topic for topic, _ in sent}
    bad = [t for t in published if any(len(level) > SITE_ID_MAX_CHARS for level in t.split("/"))
           or "bad/" in t or t.endswith("/+") or "#" in t]
    assert not bad, bad
    assert not crash_lines(caplog.records)


async def wait_for_errors(client: HermesTestClient, error_class: type[HermesMessage], count: int) -> list[Any]:
    async with asyncio.timeout(20):
        while len(found := client.received(error_class, lambda e: e.error.startswith("refused"))) < count:
            await asyncio.sleep(0.02)
    return found

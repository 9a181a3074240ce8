"""The Prometheus text (checked with prometheus_client's own parser) and the plain-text terminal view."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hermes.status import ServiceState, ServiceStatus
from services.monitor.metrics import render_prometheus
from services.monitor.observer import MeshObserver
from services.monitor.view import render_text

from .session_script import voice_command


def busy_observer() -> MeshObserver:
    observer = MeshObserver()
    for status in (ServiceStatus(service="asr", instance="base", status=ServiceState.ONLINE),
                   ServiceStatus(service="wake", instance='kit"chen\\', status=ServiceState.OFFLINE,
                                 site_ids=["kitchen"])):
        observer.feed(status.topic(), status.payload(), 1.0)
    for topic, payload, at in voice_command("kitchen", start=1000.0).messages:
        observer.feed(topic, payload, at)
    for topic, payload, at in voice_command("hall", start=1010.0, intent=None).messages:
        observer.feed(topic, payload, at)
    active = voice_command("porch", start=1020.0).messages[:40]  # still in progress
    for topic, payload, at in active:
        observer.feed(topic, payload, at)
    for topic, value in (("$SYS/broker/clients/connected", b"5"), ("$SYS/broker/load/publish/received/1min", b"120"),
                         ("$SYS/broker/load/bytes/sent/1min", b"6000"), ("$SYS/broker/publish/messages/sent", b"99")):
        observer.feed(topic, value, 1030.0)
    return observer


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_prometheus_text_parses_and_has_the_figures() -> None:
    text = render_prometheus(busy_observer())
    values = samples(text)
    assert values[("hermesh_service_up", (("instance", "base"), ("service", "asr")))] == 1
    assert values[("hermesh_service_up", (("instance", 'kit"chen\\'), ("service", "wake")))] == 0
    assert values[("hermesh_sessions_ended_total", (("reason", "nominal"),))] == 1
    assert values[("hermesh_sessions_ended_total", (("reason", "intentNotRecognized"),))] == 1
    assert values[("hermesh_sessions_started_total", ())] == 3
    assert values[("hermesh_sessions_active", (("site_id", "porch"),))] == 1
    # stage histogram: 2 finished sessions reached "captured" (2.0 s each), only one reached "spoken" (1.25 s)
    assert values[("hermesh_session_stage_seconds_count", (("stage", "captured"),))] == 2
    assert values[("hermesh_session_stage_seconds_bucket", (("le", "1.0"), ("stage", "captured")))] == 0
    assert values[("hermesh_session_stage_seconds_bucket", (("le", "2.5"), ("stage", "captured")))] == 2
    assert values[("hermesh_session_stage_seconds_bucket", (("le", "+Inf"), ("stage", "spoken")))] == 1
    assert values[("hermesh_session_stage_seconds_sum", (("stage", "spoken"),))] == pytest.approx(1.25)
    assert values[("hermesh_session_duration_seconds_count", ())] == 2
    assert values[("hermesh_messages_total", (("family", "hermes/audioServer/+/audioFrame"),))] > 0
    assert values[("hermesh_broker_clients_connected", ())] == 5
    assert values[("hermesh_broker_messages_per_second", (("direction", "received"),))] == pytest.approx(2.0)
    assert values[("hermesh_broker_bytes_per_second", (("direction", "sent"),))] == pytest.approx(100.0)
    assert values[("hermesh_broker_messages_total", (("direction", "sent"),))] == 99
    # every family has HELP and TYPE, histogram buckets are cumulative
    assert text.count("# TYPE hermesh_session_stage_seconds histogram") == 1
    buckets = [float(v) for v in re.findall(r'hermesh_session_stage_seconds_bucket\{stage="intent",le="[^"]+"\} (\S+)', text)]
    assert buckets == sorted(buckets) and len(buckets) == 10


def test_prometheus_text_of_an_empty_observer_is_valid() -> None:
    text = render_prometheus(MeshObserver())
    values = samples(text)
    assert values[("hermesh_sessions_started_total", ())] == 0
    assert "hermesh_broker_clients_connected" not in text  # no $SYS seen: no made-up figure


def test_plain_view_shows_services_sessions_latencies_and_broker() -> None:
    observer = busy_observer()
    text = render_text(observer.snapshot(1031.0), broker_address="127.0.0.1:1883")
    assert "\x1b" not in text  # plain text: no cursor or colour codes
    assert "broker 127.0.0.1:1883" in text
    assert "clients 5 | in 2.0 msg/s - | out - 100 B/s" in text  # 120 publishes/min in, 6000 B/min out
    assert "SERVICES  1 online, 1 offline" in text
    assert re.search(r"^\s+asr\s+base\s+online\s+all", text, re.MULTILINE)
    assert re.search(r"^\s+wake\s+kit\"chen\\\s+OFFLINE\s+kitchen", text, re.MULTILINE)
    assert "ACTIVE SESSIONS  1" in text
    assert re.search(r"^\s+porch\s+\S+", text, re.MULTILINE)
    assert "started 3 | ended: intentNotRecognized 1, nominal 1 | lost 0" in text
    # the finished kitchen session's row: wake>start 400ms, >listen 50ms, >text 2.00s, ... total 4.05s
    row = next(line for line in text.splitlines() if line.strip().startswith("kitchen"))
    assert re.search(r"ChangeLightState\s+400ms\s+50ms\s+2\.00s\s+150ms\s+150ms\s+1\.25s\s+4\.05s\s+nominal", row), row
    assert "hermes/audioServer/+/audioFrame" in text


def test_plain_view_of_an_empty_mesh() -> None:
    text = render_text(MeshObserver().snapshot(0.0))
    assert "no Hermesh service has reported on this broker" in text
    assert "ACTIVE SESSIONS  0" in text and "version ?" in text

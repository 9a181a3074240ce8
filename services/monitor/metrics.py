"""Prometheus text exposition (format 0.0.4) of a MeshObserver's state, for the bridge's /metrics.

Serve it with the content type ``CONTENT_TYPE``. Every figure comes from the broker's traffic (see observer.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .observer import STAGES, Histogram, MeshObserver

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{_escape(str(value))}"' for key, value in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, labels: dict[str, str] | None = None) -> None:
        self.lines.append(f"{name}{_labels(labels or {})} {_number(value)}")

    def histogram(self, name: str, histogram: Histogram, labels: dict[str, str]) -> None:
        for bound, count in histogram.cumulative():
            self.sample(f"{name}_bucket", count, {**labels, "le": "+Inf" if math.isinf(bound) else repr(float(bound))})
        self.sample(f"{name}_sum", histogram.sum, labels)
        self.sample(f"{name}_count", histogram.count, labels)

    def gauges(self, name: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> None:
        self.family(name, "gauge", help_text)
        for labels, value in samples:
            self.sample(name, value, labels)


def render_prometheus(state: MeshObserver) -> str:
    """The observer's figures as Prometheus text: services up, sessions, stage latencies, messages, broker."""
    out = _Writer()

    out.gauges("hermesh_service_up", "1 if the service's retained status says online, 0 if offline (last will).",
               (({"service": v.service, "instance": v.instance}, 1 if v.online else 0)
                for _, v in sorted(state.services.items())))

    active: dict[str, int] = {}
    for session in state.active.values():
        active[session.site_id] = active.get(session.site_id, 0) + 1
    out.gauges("hermesh_sessions_active", "Dialogue sessions in progress per site.",
               (({"site_id": site}, count) for site, count in sorted(active.items())))

    out.family("hermesh_sessions_started_total", "counter", "Dialogue sessions started (sessionStarted seen).")
    out.sample("hermesh_sessions_started_total", state.sessions_started)
    out.family("hermesh_sessions_ended_total", "counter", "Dialogue sessions ended, by termination reason.")
    for reason, count in sorted(state.sessions_ended.items()):
        out.sample("hermesh_sessions_ended_total", count, {"reason": reason})
    out.family("hermesh_sessions_lost_total", "counter",
               "Sessions whose end never arrived (no message for 10 minutes).")
    out.sample("hermesh_sessions_lost_total", state.sessions_lost)

    out.family("hermesh_session_stage_seconds", "histogram",
               "Seconds from the previous stage to this one, per finished session turn "
               f"(stages in order: {', '.join(STAGES)}).")
    for stage in STAGES[1:]:
        out.histogram("hermesh_session_stage_seconds", state.stage_latency[stage], {"stage": stage})
    out.family("hermesh_session_duration_seconds", "histogram", "Seconds from wake (or start) to sessionEnded.")
    out.histogram("hermesh_session_duration_seconds", state.session_duration, {})

    out.family("hermesh_messages_total", "counter", "MQTT messages seen by the monitor, by topic family.")
    for family, count in sorted(state.messages.items()):
        out.sample("hermesh_messages_total", count, {"family": family})
    out.family("hermesh_message_bytes_total", "counter", "Payload bytes seen by the monitor, by topic family.")
    for family, size in sorted(state.message_bytes.items()):
        out.sample("hermesh_message_bytes_total", size, {"family": family})
    out.family("hermesh_messages_malformed_total", "counter", "Messages whose payload did not parse, by family.")
    for family, count in sorted(state.malformed.items()):
        out.sample("hermesh_messages_malformed_total", count, {"family": family})

    broker = state.broker
    if "clients_connected" in broker:
        out.gauges("hermesh_broker_clients_connected", "Clients connected to the broker ($SYS).",
                   [({}, broker["clients_connected"])])
    if "messages_dropped" in broker:
        out.family("hermesh_broker_messages_dropped_total", "counter",
                   "PUBLISH messages the broker dropped (a client's queue was full) ($SYS).")
        out.sample("hermesh_broker_messages_dropped_total", broker["messages_dropped"])
    for name, help_text in (("messages", "PUBLISH messages"), ("bytes", "Bytes")):
        totals = [({"direction": d}, broker[f"{name}_{d}"]) for d in ("received", "sent") if f"{name}_{d}" in broker]
        if totals:
            out.family(f"hermesh_broker_{name}_total", "counter", f"{help_text} the broker received/sent ($SYS).")
            for labels, value in totals:
                out.sample(f"hermesh_broker_{name}_total", value, labels)
        rates = [({"direction": d}, rate) for d in ("received", "sent")
                 if (rate := state.broker_rate(f"{name}_{d}")) is not None]
        if rates:
            out.gauges(f"hermesh_broker_{name}_per_second",
                       f"{help_text} per second the broker received/sent (1-minute average, $SYS).", rates)
    return "\n".join(out.lines) + "\n"

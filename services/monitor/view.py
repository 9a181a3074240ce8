"""Plain-text rendering of a monitor snapshot: the same text in a terminal (redrawn), under tmux, or in a log."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .observer import STAGES

CLEAR_SCREEN = "\x1b[H\x1b[2J"
STAGE_COLUMNS = {"started": "wake>start", "listening": ">listen", "captured": ">text", "intent": ">intent",
                 "handled": ">handled", "spoken": ">spoken"}


def _clock(timestamp: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp)) if timestamp else "-"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def _rate(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "B":
        for scale, prefix in ((1 << 20, "MB"), (1 << 10, "KB")):
            if value >= scale:
                return f"{value / scale:.1f} {prefix}/s"
        return f"{value:.0f} B/s"
    return f"{value:.1f} msg/s"


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _short(text: str | None, width: int) -> str:
    text = text or "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def render_text(snapshot: dict[str, Any], *, broker_address: str = "", finished: int = 10, families: int = 8) -> str:
    """The whole monitor screen as text (no colours, no cursor codes)."""
    lines: list[str] = []
    broker = snapshot.get("broker", {})
    where = f" - broker {broker_address}" if broker_address else ""
    lines.append(f"Hermesh monitor{where} - {_clock(snapshot.get('time'))}")

    clients = broker.get("clients_connected")
    lines.append(
        f"BROKER  {broker.get('version') or 'version ?'} | clients {int(clients) if clients is not None else '-'}"
        f" | in {_rate(broker.get('messages_received_per_second'), 'msg')}"
        f" {_rate(broker.get('bytes_received_per_second'), 'B')}"
        f" | out {_rate(broker.get('messages_sent_per_second'), 'msg')}"
        f" {_rate(broker.get('bytes_sent_per_second'), 'B')}"
    )

    services = snapshot.get("services", [])
    online = sum(1 for s in services if s["status"] == "online")
    lines.append("")
    lines.append(f"SERVICES  {online} online, {len(services) - online} offline")
    if services:
        rows: list[tuple[str, ...]] = [("SERVICE", "INSTANCE", "STATUS", "SITES", "SINCE")]
        for s in services:
            status = "online" if s["status"] == "online" else "OFFLINE"
            since = s["since"] if s["status"] == "online" else s["changed_at"]
            rows.append((s["service"], s["instance"], status, ",".join(s["site_ids"]) or "all", _clock(since)))
        lines.extend(_table(rows))
    else:
        lines.append("  no Hermesh service has reported on this broker")

    sessions = snapshot.get("sessions", {})
    active = sessions.get("active", [])
    lines.append("")
    lines.append(f"ACTIVE SESSIONS  {len(active)}")
    if active:
        rows = [("SITE", "STAGE", "AGE", "SESSION")]
        for s in active:
            rows.append((s["site_id"], s["stage"], _seconds(s.get("age")), _short(s["session_id"], 40)))
        lines.extend(_table(rows))

    done = sessions.get("finished", [])[-finished:]
    ended = sessions.get("ended", {})
    counts = ", ".join(f"{reason} {count}" for reason, count in sorted(ended.items())) or "none"
    lines.append("")
    lines.append(f"FINISHED SESSIONS  started {sessions.get('started', 0)} | ended: {counts}"
                 f" | lost {sessions.get('lost', 0)}")
    if done:
        rows = [("SITE", "ENDED", "INTENT", *STAGE_COLUMNS.values(), "TOTAL", "REASON")]
        for s in reversed(done):
            latencies = s.get("latencies", {})
            rows.append((s["site_id"], _clock(s.get("ended_at")), _short(s.get("intent"), 22),
                         *(_seconds(latencies.get(stage)) for stage in STAGES[1:]),
                         _seconds(s.get("duration")), s.get("reason") or "-"))
        lines.extend(_table(rows))

    messages = snapshot.get("messages", {})
    lines.append("")
    lines.append(f"TRAFFIC SEEN  {sum(m['count'] for m in messages.values())} messages")
    top = sorted(messages.items(), key=lambda item: -item[1]["count"])[:families]
    if top:
        lines.extend(_table([("FAMILY", "MESSAGES", "BYTES")] +
                            [(family, str(m["count"]), str(m["bytes"])) for family, m in top]))
    return "\n".join(lines) + "\n"

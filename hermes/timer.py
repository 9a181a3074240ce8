"""Hermesh's timer topic: ``hermesh/timer/<siteId>/<started|updated|cancelled|finished>``.

Whatever keeps timers (an intent handler, a Home Assistant automation) publishes here, and the bridge turns the
messages into Wyoming timer events for the site's satellite, whose display counts down. The payload keeps
Wyoming's own snake_case field names (``total_seconds``, ``is_active``...), as documented for satellites, so
a handler can pass Wyoming's fields through unchanged.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict

from .base import HermesMessage, topic_field
from .common import DEFAULT_SITE


def _as_is(name: str) -> str:
    return name


class TimerChange(StrEnum):
    STARTED = "started"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class TimerEvent(HermesMessage):
    """One change of a timer on a site; the fields a change does not use stay null."""

    model_config = ConfigDict(alias_generator=_as_is)  # Wyoming's names on the wire, not camelCase

    TOPIC = "hermesh/timer/{site_id}/{change}"
    site_id: str = topic_field(default=DEFAULT_SITE)
    change: TimerChange = topic_field(default=TimerChange.STARTED)
    id: str
    total_seconds: int | None = None  # started, updated
    is_active: bool | None = None  # updated
    name: str | None = None  # started
    start_hours: int | None = None
    start_minutes: int | None = None
    start_seconds: int | None = None

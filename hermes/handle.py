"""Switching intent handling on and off (the HTTP API turns it off for test recognitions)."""

from __future__ import annotations

from .base import HermesMessage
from .common import DEFAULT_SITE


class HandleToggleOn(HermesMessage):
    TOPIC = "rhasspy/handle/toggleOn"
    site_id: str = DEFAULT_SITE


class HandleToggleOff(HermesMessage):
    TOPIC = "rhasspy/handle/toggleOff"
    site_id: str = DEFAULT_SITE

"""Switching intent handling on and off (the HTTP API turns it off for test recognitions)."""

from __future__ import annotations

from .common import SiteMessage


class HandleToggleOn(SiteMessage):
    TOPIC = "rhasspy/handle/toggleOn"


class HandleToggleOff(SiteMessage):
    TOPIC = "rhasspy/handle/toggleOff"

"""The session-wide Home Assistant of the HA tier (installed into .cache/ha-venv on first use)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import free_port

from .harness import HomeAssistant


@pytest.fixture(scope="session")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistant]:
    instance = HomeAssistant(tmp_path_factory.mktemp("home-assistant"), free_port())
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()

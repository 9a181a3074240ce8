"""Fixtures: one throw-away CA per test session, and a broker from production.conf with a base user and two satellites."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.security.command import add_satellite_files
from services.security.files import read_text, write_preserving
from services.security.passwd import upsert_password

from .pki import Pki, make_pki
from .production_broker import REPO, ProductionBroker

BASE_USER, BASE_PASSWORD = "hermesh", "base-secret"
MONITOR_USER, MONITOR_PASSWORD = "hermesh-monitor", "monitor-secret"
SATELLITES = {"kitchen": "kitchen-secret", "hall": "hall-secret"}


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@dataclass
class Secured:
    broker: ProductionBroker

    def base(self, tls: bool = False):  # type: ignore[no-untyped-def]
        return self.broker.tls(BASE_USER, BASE_PASSWORD) if tls else self.broker.plain(BASE_USER, BASE_PASSWORD)

    def satellite(self, site: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.broker.tls(site, SATELLITES[site], **kwargs)


def prepare_files(broker: ProductionBroker) -> None:
    """acl.example as shipped, the base and monitor users' passwords, and two satellites added by our code."""
    shutil.copy(REPO / "mosquitto" / "acl.example", broker.acl)
    text = read_text(broker.passwd)
    for user, password in ((BASE_USER, BASE_PASSWORD), (MONITOR_USER, MONITOR_PASSWORD)):
        text = upsert_password(text, user, password, str(broker.passwd)).text
    write_preserving(broker.passwd, text or "")
    for site, password in SATELLITES.items():
        add_satellite_files(broker.passwd, broker.acl, site, site, password=password)


@contextmanager
def production_broker(tmp_path: Path, pki: Pki, **options: bool) -> Iterator[Secured]:
    """A broker from production.conf with the base, monitor and satellite users, stopped at the end."""
    directory = tmp_path / "broker"
    directory.mkdir()
    broker = ProductionBroker(directory, pki, **options)
    prepare_files(broker)
    broker.start()
    try:
        yield Secured(broker)
    finally:
        broker.stop()


@pytest.fixture
def secured(tmp_path: Path, pki: Pki) -> Iterator[Secured]:
    with production_broker(tmp_path, pki, websockets=True) as broker:
        yield broker

"""Nothing is kept for ever per site or per session: Wyoming detect and transcribe connections and MQTT sessions,
each on a fresh site id, leave no state behind in any service, and the mesh's RSS stops growing.

The first test runs the real services in this process and looks at what they hold; the second runs each
service as its own process (the workload of bench/memory_soak.py with smaller counts) and reads their RSS.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.service import BridgeService
from bridge.settings import BridgeSettings
from services.asr.service import AsrService
from services.config import HttpSettings, SiteStateSettings
from services.dialogue.service import DialogueService
from services.nlu.training import train_profile
from services.runtime import HermesService
from services.wake.service import SPARE_DETECTORS, WakeService
from tests.conftest import MosquittoBroker, free_port, make_common, running

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import memory_soak  # noqa: E402

MAX_SITES = 20  # small, so the MQTT sessions below overflow it


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait until ``condition()`` holds (the services finish the last messages of the workload)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {timeout:g} s: {what}")
        await asyncio.sleep(0.05)


def quiet_profile(profile: Path) -> None:
    settings = json.loads((profile / "profile.json").read_text())
    settings["wyoming"] = {"detect_grace": 0.0}
    settings["wake"] = {"site_idle_seconds": 0.5}  # the MQTT sessions' sites never say they are gone
    (profile / "profile.json").write_text(json.dumps(settings))
    train_profile(profile)


async def test_fresh_sites_leave_no_state_in_any_service(mqtt_broker: MosquittoBroker, profile_dir: Path) -> None:
    quiet_profile(profile_dir)
    wyoming_port = free_port()
    common = make_common(mqtt_broker, profile_dir, http=HttpSettings(port=free_port(), wyoming_port=wyoming_port),
                         site_state=SiteStateSettings(max_sites=MAX_SITES))
    wake, asr, dialogue = WakeService(common), AsrService(common), DialogueService(common)
    bridge = BridgeService(common, BridgeSettings())
    services: list[HermesService[Any]] = [wake, asr, dialogue, bridge]
    async with running(wake), running(asr), running(dialogue), running(bridge):
        listeners = len(bridge._listeners)  # the Wyoming router's; each request's own are removed after it
        async with memory_soak.SessionClient(mqtt_broker.port) as sessions:
            await asyncio.gather(
                memory_soak._many(20, 3, lambda: memory_soak.wyoming_detect(wyoming_port)),
                memory_soak._many(20, 3, lambda: memory_soak.wyoming_transcribe(wyoming_port)),
                memory_soak._many(3 * MAX_SITES, 3, sessions.session),
            )
        assert bridge.wyoming is not None
        server = bridge.wyoming
        await eventually(lambda: not server.connections and len(bridge._listeners) == listeners and not bridge._waiters,
                         "connections closed, their waits and listeners gone")
        await eventually(lambda: len(wake._sites) == 0, "the wake service forgot every site")
        await eventually(lambda: all(not s._site_workers and not s._site_queues for s in services),
                         "no per-site worker left in any service")
        assert len(wake._spare_detectors) <= SPARE_DETECTORS
        assert asr.sessions == {}
        assert dialogue.engine.site_count == 0
        # The bridge's status view keeps quiet rooms, but not the released Wyoming sites, and at most MAX_SITES.
        assert not [site for site in bridge.site_states.sites if site.startswith("wyoming-")]
        assert 0 < len(bridge.site_states.sites) <= MAX_SITES


@pytest.mark.timeout(300)
def test_the_rss_of_every_service_stops_growing(tmp_path: Path) -> None:
    """The issue's figure, with smaller counts: after the first 100 connections, within 20 MB."""
    # A 1 s wake idle limit makes the checkpoints shorter. The ASR's decoders (~20 MB each) are taken per
    # decode and capped at the CPU count per kind (clean, noisy), so round 1 already built all it ever will.
    mesh = memory_soak.SoakMesh(tmp_path, wake_idle_seconds=1.0)
    try:
        mesh.start()
        # Round 1 (100 detect, 30 transcribe, 150 sessions) is the reference; round 2 does it all again. A detect
        # connection cost 7.4 MB before its site was freed, so 100 more of them fail this test by far; the few KB
        # per transcribe or session are checked by the test above, by what the services hold.
        checkpoints = asyncio.run(memory_soak.soak(mesh, detect=200, transcribe=60, sessions=300, rounds=2,
                                                   concurrency=4))
    finally:
        mesh.stop()
    memory_soak.print_table(checkpoints)  # shown with pytest -s
    first, last = checkpoints
    assert first.detect == 100
    growth = {name: round(last.rss[name] - first.rss[name], 1) for name in memory_soak.SERVICES}
    assert all(delta <= 20.0 for delta in growth.values()), growth

"""Schemathesis against the bridge's own OpenAPI document, with the whole real mesh behind it (issue 19, §5).

Every operation gets cases drawn from its schema (and some that break it): no 5xx, every status code,
content type, header and body as documented. Restart and shutdown go last. ``bench/fuzz.py`` is the long run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx

from services import catalog
from tests.bridge.ha_standin import home_assistant
from tests.bridge.harness import run_bridge
from tests.conftest import make_common, running

from .hermes_targets import make_service
from .openapi_run import run

CASES_PER_OPERATION = 2  # CI budget: about 170 requests over the 54 operations


@contextlib.asynccontextmanager
async def whole_mesh(broker, profile):  # type: ignore[no-untyped-def]
    """Every catalog service as ``hermesh up`` builds it, then the bridge, trained."""
    settings = json.loads((profile / "profile.json").read_text())
    # One speaker plays every site's sounds in turn (the fuzzer names many sites, the dialogue adds its
    # feedback sounds), so a say can wait behind others longer than its own length plus 3 s; the TTS
    # would then report it failed (502). The margin itself is tested in tests/tts.
    settings["tts"] = {"play_finished_margin": 60.0}
    (profile / "profile.json").write_text(json.dumps(settings))
    async with contextlib.AsyncExitStack() as stack:
        common = make_common(broker, profile)
        for name in sorted(set(catalog.SERVICES) - {"bridge"}):
            await stack.enter_async_context(running(make_service(name, common), timeout=60))
        # Home Assistant is outside the mesh: its stand-in answers the conversation API (tests/bridge).
        url, _ = await stack.enter_async_context(home_assistant("ha-token"))
        # GET /api/mqtt/<topic> waits this long for a message the fuzzer's random topics never get
        bridge = await stack.enter_async_context(run_bridge(broker, profile, mqtt_poll_timeout=1.0,
                                                            home_assistant_url=url, home_assistant_token="ha-token"))
        async with httpx.AsyncClient(base_url=bridge.base_url, timeout=60) as client:
            trained = await client.post("/api/train")
            assert trained.status_code == 200, trained.text
            spec = (await client.get("/openapi.json")).json()
        yield bridge, spec


async def test_every_operation_of_the_openapi_document(mqtt_broker, profile_dir, sound_card):
    async with whole_mesh(mqtt_broker, profile_dir) as (bridge, spec):
        report = await asyncio.to_thread(run, spec, bridge.base_url, CASES_PER_OPERATION)
    operations = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    assert set(report.tried) == operations, operations - set(report.tried)
    problems = [f"{f.operation} -> {f.status}: {f.problem}\n  {f.curl}" for f in report.findings]
    assert not problems, f"{len(problems)} of {sum(report.tried.values())} requests:\n" + "\n".join(problems[:10])

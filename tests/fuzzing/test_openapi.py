"""Schemathesis against the bridge's own OpenAPI document, with the whole real mesh behind it (issue 19, §5).

Every operation gets cases drawn from its schema (and some that break it): no 5xx, every status code,
content type, header and body as documented. Restart and shutdown go last. ``bench/fuzz.py`` is the long run.
"""

from __future__ import annotations

import asyncio

from .hermes_targets import whole_mesh
from .openapi_run import run

CASES_PER_OPERATION = 2  # CI budget: about 170 requests over the 54 operations


async def test_every_operation_of_the_openapi_document(mqtt_broker, profile_dir, sound_card):
    async with whole_mesh(mqtt_broker, profile_dir) as (bridge, spec):
        report = await asyncio.to_thread(run, spec, bridge.base_url, CASES_PER_OPERATION)
    operations = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    assert set(report.tried) == operations, operations - set(report.tried)
    problems = [f"{f.operation} -> {f.status}: {f.problem}\n  {f.curl}" for f in report.findings]
    assert not problems, f"{len(problems)} of {sum(report.tried.values())} requests:\n" + "\n".join(problems[:10])

"""Schemathesis over the bridge's own OpenAPI document: every operation, cases drawn from its schema.

Shared by tests/fuzzing/test_openapi.py (a short run) and bench/fuzz.py (a long one). The calls are made with
``requests`` from a worker thread, so the bridge and the mesh keep running on the test's event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .strategies import WAV_BYTES, draw


@schemathesis.serializer("audio/wav")
def _wav_body(ctx: Any, value: Any) -> bytes:
    """WAV bodies are bytes as they are (the document says string/binary)."""
    return value if isinstance(value, bytes) else str(value).encode()

# What every response must satisfy. Not positive_data_acceptance: the document describes bodies and query
# values as plain strings, so a well-shaped but wrong value (an unknown intent, a slot name with '..') is
# rightly a 400; and not negative_data_rejection for the same reason (a "wrong type" query value is a string).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Operations that end the mesh or the bridge: sent last, once the others are done.
LAST = ("POST /api/restart", "POST /api/shutdown")
REQUEST_TIMEOUT = 60.0


@dataclass
class Finding:
    operation: str
    status: int | None
    problem: str
    curl: str


@dataclass
class Report:
    tried: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def bounded(case: Any, wav: bytes | None) -> Any:
    """Waits a client asks for are bounded by the API (at most an hour); the fuzz run cannot wait that long
    for speech that never comes, so listen-for-command waits one second (the bound itself is tested in
    tests/security/test_bad_input.py). A WAV body is, every other case, a real RIFF header with drawn (often
    absurd) fields instead of random bytes, to get past the first check."""
    if case.operation.label == "POST /api/listen-for-command":
        case.query = {**(case.query or {}), "timeout": "1"}
    if wav is not None and case.media_type == "audio/wav":
        case.body = wav
    return case


def run(spec: dict[str, Any], base_url: str, per_operation: int, *, seed: int | None = None,
        only: Iterable[str] | None = None, last: bool = True) -> Report:
    """Draw ``per_operation`` positive and half as many negative cases per operation, call, check."""
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    wanted = set(only) if only else None
    operations = [op for op in operations if wanted is None or op.label in wanted]
    operations.sort(key=lambda op: op.label in LAST)
    report = Report()
    with requests.Session() as session:
        for operation in operations:
            if operation.label in LAST and not last:
                continue
            count = 1 if operation.label in LAST else per_operation
            cases = draw(operation.as_strategy(GenerationMode.POSITIVE), count, seed)
            if operation.label not in LAST:
                cases += draw(operation.as_strategy(GenerationMode.NEGATIVE), max(1, count // 2), seed)
            wavs = draw(WAV_BYTES, len(cases), seed)
            for number, case in enumerate(cases):
                call(bounded(case, wavs[number] if number % 2 else None), base_url, session, report)
    return report


def call(case: Any, base_url: str, session: requests.Session, report: Report) -> None:
    label = case.operation.label
    report.tried[label] = report.tried.get(label, 0) + 1
    try:
        response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT)
    except requests.RequestException as err:
        report.findings.append(Finding(label, None, f"no answer: {err}", case.as_curl_command()))
        return
    report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
    checks = CHECKS
    if label == "GET /api/mqtt/{topic}" and response.status_code == 504:
        # its documented answer when no message arrives in time (a long poll); random topics never get one
        checks = [c for c in CHECKS if c is not not_a_server_error]
    try:
        case.validate_response(response, checks=checks)
    except (Exception, BaseExceptionGroup) as err:  # noqa: BLE001 - a Failure, or a FailureGroup of them
        report.findings.append(Finding(label, response.status_code, str(err)[:1500], case.as_curl_command()))

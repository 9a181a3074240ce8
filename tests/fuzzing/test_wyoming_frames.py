"""Random Wyoming frames against the real bridge's Wyoming server (issue 19, §2 and §5).

Whatever a client sends and however it leaves (closes, resets, half-closes, stays silent), the server logs
no "Task exception was never retrieved" and no failure of its own, a broken frame is answered by exactly
one error event and the end of the connection, and a normal describe is answered afterwards.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import struct

import pytest
from wyoming.info import Describe, Info

from tests.bridge.harness import run_bridge
from tests.wyoming.clients import connect, read_until

from .strategies import draw, wyoming_sessions
from .wyoming_clients import Outcome, play

SESSIONS = 120  # CI budget
# Log lines that mean the server let an exception escape or failed on its own.
CRASHES = ("exception was never retrieved", "Exception in callback", "connection from", "Unhandled exception",
           "Error in", "unexpected error")

HAND_WRITTEN = {
    "garbage": ([b"\x00\xff not json at all\n"], "half-close"),
    "a header of 200 kB": ([b'{"type": "' + b"x" * 200_000 + b'"}\n'], "half-close"),
    "a header that is a list": ([b"[1, 2, 3]\n"], "half-close"),
    "nested 100k deep": ([b"[" * 100_000 + b"]" * 100_000 + b"\n"], "half-close"),
    "a string data_length": ([b'{"type": "describe", "data_length": "12"}\n'], "half-close"),
    "payload_length 2**40": ([b'{"type": "audio-chunk", "payload_length": 1099511627776}\n'], "half-close"),
    "closed mid-payload": ([b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, '
                            b'"payload_length": 3200}\n' + b"\0" * 100], "half-close"),
    "reset mid-audio": ([b'{"type": "transcribe"}\n', b'{"type": "audio-start", "data": {"rate": 16000, '
                         b'"width": 2, "channels": 1}}\n'] + [b'{"type": "audio-chunk", "data": {"rate": 16000, '
                         b'"width": 2, "channels": 1}, "payload_length": 320}\n' + b"\0" * 320] * 20, "abort"),
    "closed mid-detect": ([b'{"type": "detect"}\n', b'{"type": "audio-start", "data": {"rate": 16000, '
                           b'"width": 2, "channels": 1}}\n', b'{"type": "audio-chunk", "data": {"rate": 16000, '
                           b'"width": 2, "channels": 1}, "payload_length": 2}\n\0'], "close"),
    "wrong order": ([b'{"type": "audio-stop"}\n', b'{"type": "synthesize-chunk", "data": {"text": "x"}}\n',
                     b'{"type": "audio-chunk", "data": {"rate": 1, "width": 2, "channels": 1}}\n'], "half-close"),
    "half-open": ([b'{"type": "transcribe"}\n', b'{"type": "audio-start", "data": {"rate": 16000, '
                   b'"width": 2, "channels": 1}}\n'], "linger"),
    "audio with a zero rate": ([b'{"type": "transcribe"}\n', b'{"type": "audio-chunk", "data": {"rate": 0, '
                                b'"width": 0, "channels": 0}, "payload_length": 4}\n' + struct.pack("<i", 5)],
                               "half-close"),
}


def crashes(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage()[:300] for r in records if r.levelno >= logging.ERROR
            and any(c in r.getMessage() for c in CRASHES)]


def check_one_error_then_closed(outcome: Outcome) -> None:
    """A broken frame: exactly one error event for it, and it is the last thing before the close."""
    if outcome.ending != "half-close":
        return
    assert outcome.closed_by_server, outcome
    if outcome.expected_frame_error is None:
        assert not outcome.frame_errors, outcome.events
        return
    assert len(outcome.frame_errors) == 1, outcome.events
    assert outcome.events[-1].type == "error", [e.type for e in outcome.events]
    assert outcome.events[-1].data.get("code") == outcome.expected_frame_error, outcome.events[-1].data


async def run_sessions(port: int, sessions: list[tuple[list[bytes], str]]) -> list[Outcome]:
    lingering: list[asyncio.StreamWriter] = []
    outcomes: list[Outcome] = []
    try:
        for start in range(0, len(sessions), 8):  # a few clients at a time, like a busy Home Assistant
            batch = sessions[start:start + 8]
            outcomes += await asyncio.gather(*(play(port, frames, ending, lingering) for frames, ending in batch))
    finally:
        for writer in lingering:
            writer.close()
    return outcomes


@pytest.mark.parametrize("case", list(HAND_WRITTEN))
async def test_each_misbehaving_client_gets_one_error_and_the_server_carries_on(mqtt_broker, profile_dir, caplog,
                                                                              case):
    caplog.set_level(logging.DEBUG, logger="asyncio")
    async with run_bridge(mqtt_broker, profile_dir, wyoming=True) as bridge:
        port = bridge.common.http.wyoming_port
        outcomes = await run_sessions(port, [HAND_WRITTEN[case]])
        async with connect(port) as client:
            await client.write_event(Describe().event())
            info = Info.from_event((await read_until(client, "info"))[-1])
    gc.collect()
    assert not crashes(caplog.records), crashes(caplog.records)
    for outcome in outcomes:
        check_one_error_then_closed(outcome)
    assert info.asr is not None


async def test_random_wyoming_sessions(mqtt_broker, profile_dir, caplog):
    caplog.set_level(logging.DEBUG, logger="asyncio")
    sessions = draw(wyoming_sessions(), SESSIONS)
    async with run_bridge(mqtt_broker, profile_dir, wyoming=True) as bridge:
        port = bridge.common.http.wyoming_port
        outcomes = await run_sessions(port, sessions)
        async with connect(port) as client:
            await client.write_event(Describe().event())
            info = Info.from_event((await read_until(client, "info"))[-1])
    gc.collect()
    assert not crashes(caplog.records), crashes(caplog.records)[:5]
    for outcome in outcomes:
        check_one_error_then_closed(outcome)
    assert sum(o.expected_frame_error is not None for o in outcomes) > 10  # the fuzzer did break frames
    assert info.asr is not None

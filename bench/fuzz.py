"""The long fuzz run: Hypothesis payloads on every Hermes topic, random Wyoming sessions, schemathesis over
the bridge's OpenAPI document, round after round with fresh seeds until the budget is spent.

    .venv/bin/python bench/fuzz.py --budget 600            # ten minutes, every target
    .venv/bin/python bench/fuzz.py --budget 120 --only wyoming,openapi --seed 7

The same generators and checks as tests/fuzzing (the CI runs draw a few fixed cases; here each round
draws new ones). Prints, per round and target, what was tried and what failed (a crash line in the logs, an
unanswered ordinary request, a schemathesis failure with its curl command); exits 1 if anything failed.
Everything runs on loopback: a Mosquitto on a free port and the services in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services import catalog  # noqa: E402
from services.profile import ensure_profile  # noqa: E402
from tests.bridge.harness import run_bridge  # noqa: E402
from tests.conftest import HermesTestClient, MosquittoBroker, free_port, make_common, running  # noqa: E402
from tests.fuzzing.hermes_targets import (  # noqa: E402
    answers_a_normal_request,
    expecter,
    fuzzed_classes,
    make_service,
    whole_mesh,
)
from tests.fuzzing.openapi_run import run as run_openapi  # noqa: E402
from tests.fuzzing.strategies import draw, payloads, topic_for, wyoming_sessions  # noqa: E402
from tests.fuzzing.wyoming_clients import play  # noqa: E402
from tests.pulse import PulseAudio  # noqa: E402

CRASHES = ("unexpected error", "exception was never retrieved", "Exception in callback", "Unhandled exception",
           "Exception in ASGI application", "failed unexpectedly")
TARGETS = ("hermes", "wyoming", "openapi")


class CrashLog(logging.Handler):
    """Collects ERROR records that mean an exception escaped somewhere."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if any(c in message for c in CRASHES):
            where = ""
            if record.exc_info and record.exc_info[1] is not None:
                import traceback

                frames = traceback.extract_tb(record.exc_info[2])
                last = frames[-1] if frames else None
                where = (f" [{type(record.exc_info[1]).__name__}: {str(record.exc_info[1])[:200]}"
                         + (f" at {last.filename}:{last.lineno}" if last else "") + "]")
            self.lines.append(f"{record.name}: {message[:300]}{where}")


@dataclass
class Tally:
    tried: int = 0
    failures: list[str] = field(default_factory=list)


async def fuzz_hermes(broker: MosquittoBroker, profile: Path, per_topic: int, seed: int, crashes: CrashLog,
                      tally: dict[str, Tally]) -> None:
    async with HermesTestClient(broker) as client:
        for name in sorted(catalog.SERVICES):
            one = tally.setdefault(f"hermes {name}", Tally())
            common = make_common(broker, profile)
            if name == "bridge":
                common.http.port, common.http.wyoming_port = free_port(), free_port()
            service = make_service(name, common)
            before = len(crashes.lines)
            async with running(service, timeout=60):
                for index, cls in enumerate(fuzzed_classes(service)):
                    topics = draw(topic_for(cls), per_topic, seed + index) if cls.topic_params() else [cls.TOPIC]
                    for number, payload in enumerate(draw(payloads(cls), per_topic, seed + index)):
                        await client.publish_raw(topics[number % len(topics)], payload)
                        one.tried += 1
                async with asyncio.timeout(120):
                    while any(not q.empty() for q in service._site_queues.values()):
                        await asyncio.sleep(0.05)
                try:
                    await answers_a_normal_request(name, service, client.publish_raw, expecter(client),
                                                    client.subscribe)
                except (AssertionError, TimeoutError) as err:
                    one.failures.append(f"no answer to an ordinary request afterwards: {err!r}")
            gc.collect()
            one.failures += crashes.lines[before:]
            client.clear()





async def fuzz_wyoming(broker: MosquittoBroker, profile: Path, sessions: int, seed: int, crashes: CrashLog,
                       tally: dict[str, Tally]) -> None:
    from wyoming.info import Describe

    from tests.wyoming.clients import connect, read_until

    one = tally.setdefault("wyoming", Tally())
    before = len(crashes.lines)
    async with run_bridge(broker, profile, wyoming=True) as bridge:
        port = bridge.common.http.wyoming_port
        lingering: list[asyncio.StreamWriter] = []
        cases = draw(wyoming_sessions(), sessions, seed)
        for start in range(0, len(cases), 8):
            outcomes = await asyncio.gather(*(play(port, f, e, lingering) for f, e in cases[start:start + 8]))
            one.tried += len(outcomes)
            for outcome in outcomes:
                if outcome.ending == "half-close" and outcome.expected_frame_error and (
                        len(outcome.frame_errors) != 1 or outcome.events[-1].type != "error"):
                    one.failures.append(f"broken frame not answered by one error then the close: "
                                        f"{[e.type for e in outcome.events]}")
        for writer in lingering:
            writer.close()
        try:
            async with connect(port) as client:
                await client.write_event(Describe().event())
                await read_until(client, "info")
        except AssertionError as err:
            one.failures.append(f"describe not answered afterwards: {err}")
    gc.collect()
    one.failures += crashes.lines[before:]


async def fuzz_openapi(broker: MosquittoBroker, profile: Path, per_operation: int, seed: int, crashes: CrashLog,
                       tally: dict[str, Tally]) -> None:
    one = tally.setdefault("openapi", Tally())
    before = len(crashes.lines)
    async with whole_mesh(broker, profile) as (bridge, spec):
        # restart and shutdown go last and end this mesh; every round starts its own
        report = await asyncio.to_thread(run_openapi, spec, bridge.base_url, per_operation, seed=seed)
    one.tried += sum(report.tried.values())
    one.failures += [f"{f.operation} -> {f.status}: {' '.join(f.problem.split())[:400]}\n      {f.curl[:300]}"
                     for f in report.findings]
    one.failures += crashes.lines[before:]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds to keep fuzzing (default 300)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="seed of the first round")
    parser.add_argument("--only", default=",".join(TARGETS), help=f"comma list of {', '.join(TARGETS)}")
    parser.add_argument("--per-topic", type=int, default=40, help="Hermes payloads per topic and round")
    parser.add_argument("--sessions", type=int, default=300, help="Wyoming sessions per round")
    parser.add_argument("--per-operation", type=int, default=10, help="schemathesis cases per operation and round")
    args = parser.parse_args()
    targets = [t for t in args.only.split(",") if t]
    crashes = CrashLog()  # the only handler: the services' own log lines are not the report
    logging.getLogger().addHandler(crashes)
    logging.getLogger().setLevel(logging.ERROR)
    tally: dict[str, Tally] = {}
    work = Path(tempfile.mkdtemp(prefix="hermesh-fuzz-"))
    broker_dir = work / "broker"
    broker_dir.mkdir()
    broker = MosquittoBroker(broker_dir)
    broker.start()
    pulse = PulseAudio(work / "pulse") if "openapi" in targets and shutil.which("pulseaudio") else None
    if pulse is not None:
        import os

        from services.audio.devices import refresh_devices

        pulse.start()
        os.environ["PULSE_SERVER"] = pulse.server
        refresh_devices()
    started = time.monotonic()
    round_number = 0
    try:
        while time.monotonic() - started < args.budget:
            round_number += 1
            seed = args.seed + round_number * 1000
            for target in targets:
                if time.monotonic() - started >= args.budget:
                    break
                profile = work / f"profile-{round_number}-{target}"
                ensure_profile(profile)
                t0 = time.monotonic()
                if target == "hermes":
                    await fuzz_hermes(broker, profile, args.per_topic, seed, crashes, tally)
                elif target == "wyoming":
                    await fuzz_wyoming(broker, profile, args.sessions, seed, crashes, tally)
                elif target == "openapi":
                    await fuzz_openapi(broker, profile, args.per_operation, seed, crashes, tally)
                print(f"round {round_number} (seed {seed}) {target}: {time.monotonic() - t0:.1f} s", flush=True)
    finally:
        if pulse is not None:
            pulse.stop()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'target':<28} {'tried':>8} {'failed':>7}")
    for name, one in sorted(tally.items()):
        print(f"{name:<28} {one.tried:>8} {len(one.failures):>7}")
    failed = [(name, f) for name, one in sorted(tally.items()) for f in one.failures]
    for name, failure in failed:
        print(f"\nFAILED {name}: {failure}")
    print(f"\n{round_number} round(s) in {time.monotonic() - started:.0f} s; "
          f"{sum(t.tried for t in tally.values())} inputs tried, {len(failed)} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

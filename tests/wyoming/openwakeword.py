"""wyoming-openwakeword 1.8.2 (it carries its models) in a venv of its own, started on a free loopback port.

It needs numpy<2 and the tflite runtime, which must not enter the project's venv, so it lives in
``/work/main/.cache/oww-venv`` (git-ignored; override with HERMESH_OWW_VENV), created with pip from the
package registry when missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port, wait_port

REPO = Path(__file__).resolve().parents[2]
VERSION = "1.8.2"
MARKER = ".hermesh-oww-complete"


def venv_dir() -> Path:
    return Path(os.environ.get("HERMESH_OWW_VENV") or REPO / ".cache" / "oww-venv")


def ensure_venv() -> Path:
    venv = venv_dir()
    python = venv / "bin" / "python"
    if (venv / MARKER).exists() and python.exists():
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "wheel"],  # wyoming 1.2.0 is an sdist
        [str(python), "-m", "pip", "install", "--quiet", f"wyoming-openwakeword=={VERSION}", "numpy<2"],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"creating the openWakeWord venv failed at {' '.join(step[:4])}:\n"
                               + (result.stdout + result.stderr)[-3000:])
    (venv / MARKER).write_text(VERSION)
    return python


@contextmanager
def openwakeword_server() -> Iterator[str]:
    python = ensure_venv()
    port = free_port()
    process = subprocess.Popen([str(python), "-m", "wyoming_openwakeword", "--uri", f"tcp://127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port, timeout=60)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

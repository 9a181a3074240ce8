"""Create (once) and find the virtual environment with Home Assistant 2024.3.3 used by the HA test tier.

The venv is cached under ``/work/main/.cache/ha-venv`` (git-ignored; override with ``HERMESH_HA_VENV``). It is
built only with pip from the package registry: Home Assistant itself, then, under HA's own constraints, the
requirements of the integrations HA always loads (HA runs with ``--skip-pip``, so they must be present).
A marker file is written last, so an interrupted install is detected and redone instead of half-used.

Run ``python -m tests.homeassistant.ha_venv`` to build it ahead of a test run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HA_VERSION = "2024.3.3"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO / ".cache" / "ha-venv"
MARKER = ".hermesh-ha-complete"
INSTALL_TIMEOUT = 1200.0  # seconds; the first install takes ~3 minutes on a 2-core machine

# Requirements of the integrations HA 2024.3.3 loads by default plus api/intent/conversation, and modules they
# import (recorder via analytics needs SQLAlchemy + fnv-hash-fast; cloud needs josepy<2 in recovery mode).
# Versions are those pinned by HA's package_constraints.txt / the integration manifests.
EXTRA_REQUIREMENTS = [
    "Pillow==10.2.0",
    "SQLAlchemy==2.0.27",
    "aiohttp-fast-url-dispatcher==0.3.0",
    "aiohttp-zlib-ng==0.3.1",
    "aiohttp_cors==0.7.0",
    "fnv-hash-fast==0.5.0",
    "ha-ffmpeg==3.1.0",
    "hassil==1.6.1",
    "home-assistant-frontend==20240307.0",
    "home-assistant-intents==2024.3.12",
    "ifaddr==0.2.0",
    "janus==1.0.0",
    "mutagen==1.47.0",
    "psutil-home-assistant==0.0.1",
    "securetar==2024.2.1",
    "webrtc-noise-gain==1.2.3",
    "josepy<2",
    "zeroconf==0.131.0",
    "wyoming==1.5.3",  # the wyoming integration (Wyoming tests)
]


class HaVenvError(RuntimeError):
    """The Home Assistant venv could not be created; the message says which step failed."""


def venv_dir() -> Path:
    return Path(os.environ.get("HERMESH_HA_VENV") or DEFAULT_VENV)


def hass_executable(venv: Path | None = None) -> Path:
    return (venv or venv_dir()) / "bin" / "hass"


def is_ready(venv: Path | None = None) -> bool:
    venv = venv or venv_dir()
    return (venv / MARKER).exists() and hass_executable(venv).exists()


def _run(step: str, cmd: list[str], deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise HaVenvError(f"Home Assistant venv: no time left before step '{step}'")
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=remaining)
    except subprocess.TimeoutExpired as err:
        raise HaVenvError(f"Home Assistant venv: step '{step}' did not finish within {INSTALL_TIMEOUT:g} s") from err
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise HaVenvError(f"Home Assistant venv: step '{step}' failed (exit {result.returncode}):\n{tail}")


def ensure_ha_venv(venv: Path | None = None, python: str | None = None) -> Path:
    """The venv path, creating it first if missing or incomplete (needs pip access to the registry)."""
    venv = venv or venv_dir()
    if is_ready(venv):
        return venv
    if venv.exists():
        shutil.rmtree(venv)  # an interrupted earlier install
    venv.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + INSTALL_TIMEOUT
    interpreter = python or os.environ.get("HERMESH_HA_PYTHON") or _find_python311()
    _run("create venv", [interpreter, "-m", "venv", str(venv)], deadline)
    pip = str(venv / "bin" / "pip")
    _run("install homeassistant", [pip, "install", "-q", f"homeassistant=={HA_VERSION}"], deadline)
    constraints = (
        venv / "lib" / "python3.11" / "site-packages" / "homeassistant" / "package_constraints.txt"
    )
    cmd = [pip, "install", "-q"]
    if constraints.exists():
        cmd += ["-c", str(constraints)]
    _run("install integration requirements", cmd + EXTRA_REQUIREMENTS, deadline)
    (venv / MARKER).write_text(f"homeassistant=={HA_VERSION}\n")
    return venv


def _find_python311() -> str:
    """HA 2024.3.3 is the last release for Python 3.11; every later one needs 3.12+."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if not found:
        raise HaVenvError("Home Assistant 2024.3.3 needs Python 3.11 (set HERMESH_HA_PYTHON to one)")
    return found


if __name__ == "__main__":
    start = time.monotonic()
    print(ensure_ha_venv(), f"ready after {time.monotonic() - start:.0f} s")

"""The user's profile directory: creation from the embedded default profile, and atomic writes into it."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

LOG = logging.getLogger("hermesh.profile")

DEFAULT_PROFILE = Path(__file__).parent / "profile_default"
# Files whose presence means "this directory already is a profile": never overwrite a user's work.
PROFILE_MARKERS = ("profile.json", "sentences.ini", "intents")


def is_profile(directory: Path) -> bool:
    return any((directory / marker).exists() for marker in PROFILE_MARKERS)


def ensure_profile(directory: Path) -> bool:
    """Copy the embedded English profile into ``directory`` unless it already holds a profile.

    Returns True when the default profile was copied.
    """
    directory = directory.expanduser()
    if is_profile(directory):
        return False
    if not DEFAULT_PROFILE.is_dir():
        raise FileNotFoundError(f"the embedded default profile is missing from the package ({DEFAULT_PROFILE})")
    directory.mkdir(parents=True, exist_ok=True)
    for source in sorted(DEFAULT_PROFILE.rglob("*")):
        if "__pycache__" in source.parts:
            continue
        target = directory / source.relative_to(DEFAULT_PROFILE)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    LOG.info("created the default English profile in %s", directory)
    return True


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file so that readers see either the old or the new content, never a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def resolve_inside(profile: Path, relative: str) -> Path:
    """``profile / relative``, refusing anything that would escape the profile directory."""
    root = profile.resolve()
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise ValueError(f"{relative!r} points outside the profile directory")
    return candidate

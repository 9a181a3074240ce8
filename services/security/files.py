"""Atomic replacement of broker files that keeps their owner, group and mode.

The broker drops root privileges (Debian: to user ``mosquitto``) before it reads the password and ACL files,
so a rewrite must not silently turn a ``root:mosquitto 0640`` file into ``root:root 0600``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

NEW_FILE_MODE = 0o640  # owner writes, the broker's group reads, nobody else (the file holds password hashes)


def write_preserving(path: Path, text: str, *, new_mode: int = NEW_FILE_MODE) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new content, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.stat() if path.exists() else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if existing is not None:
            os.chmod(tmp, existing.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):  # only root may give a file away; others keep their own
                os.chown(tmp, existing.st_uid, existing.st_gid)
        else:
            os.chmod(tmp, new_mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist yet."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None

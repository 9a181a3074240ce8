"""Mosquitto password files: ``user:$7$<iterations>$<salt b64>$<hash b64>`` lines (PBKDF2-HMAC-SHA512).

This is the format Mosquitto 2 writes with ``mosquitto_passwd`` and reads with ``password_file`` (checked
against mosquitto 2.0.11: 12-byte salt, 64-byte hash, 101 iterations by default; the iteration count is read
from each line, so a higher one works). Writing it ourselves means ``hermesh add-satellite`` also works on a
machine without the mosquitto package, and the file is replaced atomically rather than edited in place.
Older ``$6$`` lines (Mosquitto 1.x: SHA512 of password + salt) are still verified, never written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

PBKDF2_ID = "7"
SHA512_ID = "6"
DEFAULT_ITERATIONS = 1000  # mosquitto_passwd uses 101; the broker pays this once per connection, not per message
SALT_BYTES = 12


class PasswordFileError(ValueError):
    """A password file line or user name that cannot be used; the message names the file and line."""


def check_username(username: str) -> str:
    if not username or any(c in username for c in ":\n\r\t ") or any(c in username for c in "+#/"):
        raise PasswordFileError(
            f"user name {username!r} must be non-empty, without spaces, ':' or the MQTT characters '/', '+', '#'"
        )
    return username


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """The encoded hash of ``password`` as Mosquitto 2 stores it (without the ``user:`` prefix)."""
    if not password:
        raise PasswordFileError("the password must not be empty")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"${PBKDF2_ID}${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(encoded: str, password: str) -> bool:
    """Does ``password`` match an encoded hash (``$7$`` PBKDF2 or the old ``$6$`` salted SHA512)?"""
    parts = encoded.split("$")
    try:
        if len(parts) == 5 and parts[1] == PBKDF2_ID:
            iterations, salt, expected = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
            actual = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
        elif len(parts) == 4 and parts[1] == SHA512_ID:
            salt, expected = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            actual = hashlib.sha512(password.encode("utf-8") + salt).digest()
        else:
            return False
    except ValueError:  # bad base64 or iteration count
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class PasswordUpdate:
    text: str  # the whole new file
    action: str  # "added", "changed" or "unchanged"


def parse_entries(text: str, where: str) -> dict[str, str]:
    """User name -> encoded hash; blank lines and ``#`` comments are skipped (Mosquitto skips them too)."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        user, sep, encoded = stripped.partition(":")
        if not sep or not user:
            raise PasswordFileError(f"{where} line {number}: expected 'user:hash', got {stripped[:40]!r}")
        entries[user] = encoded
    return entries


def upsert_password(text: str | None, username: str, password: str | None, where: str) -> PasswordUpdate:
    """The file with ``username`` set to ``password``; other lines stay byte for byte.

    ``password=None`` keeps an existing user's password (and fails for a new user). The same password
    again leaves the file unchanged, so running the command twice is harmless.
    """
    check_username(username)
    text = text or ""
    entries = parse_entries(text, where)
    if username in entries and (password is None or verify_password(entries[username], password)):
        return PasswordUpdate(text, "unchanged")
    if password is None:
        raise PasswordFileError(f"{where}: user {username!r} has no password yet; give one")
    line = f"{username}:{hash_password(password)}"
    lines = text.splitlines()
    if username in entries:
        lines = [line if current.strip().partition(":")[0] == username else current for current in lines]
        return PasswordUpdate("\n".join(lines) + "\n", "changed")
    return PasswordUpdate("\n".join([*lines, line]) + "\n", "added")


def generate_password() -> str:
    """A random password for a satellite (about 144 bits, URL-safe, no shell-special characters)."""
    return secrets.token_urlsafe(18)

"""Rhasspy 2.5 profile.json settings -> Hermesh profile.json settings, with one report row per Rhasspy setting.

Pure: takes the parsed profile.json and the profile directory (to resolve paths), returns the Hermesh settings,
the report and the files to copy. Nothing is read or written here except ``Path.is_file`` checks of referenced
files. Every leaf of the Rhasspy JSON ends up in exactly one row: carried over (to which Hermesh key), not used
(another system is selected) or not carried (an engine we do not ship, a setting without an equivalent).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CARRIED = "carried"
NOT_USED = "not used"
NOT_CARRIED = "not carried"

SECRET_KEYS = frozenset({"password", "access_token", "api_password"})
# Sections whose <section>.satellite_site_ids Rhasspy's supervisor adds to that service's --site-id list.
SATELLITE_SECTIONS = ("microphone", "sounds", "wake", "speech_to_text", "intent", "text_to_speech", "dialogue",
                      "handle", "webhooks")
# "hermes": another machine provides the service over MQTT; "dummy": nobody does. Both mean "do not run it here".
ELSEWHERE = {"hermes": "provided by another MQTT service", "dummy": "switched off"}
_PROFILE_VAR = re.compile(r"\$\{RHASSPY_PROFILE_DIR\}|\$RHASSPY_PROFILE_DIR\b")
_BASE_VAR = re.compile(r"\$\{RHASSPY_BASE_DIR\}|\$RHASSPY_BASE_DIR\b")


@dataclass(frozen=True)
class Row:
    """One line of the report: a Rhasspy setting, its value as shown, and what became of it."""

    key: str
    value: str
    outcome: str  # CARRIED, NOT_USED or NOT_CARRIED
    detail: str  # the Hermesh key(s) it went to, or why it did not


@dataclass(frozen=True)
class Copy:
    """A file or folder of the Rhasspy profile that the new profile gets, at ``target`` (relative)."""

    source: Path
    target: str


@dataclass
class Conversion:
    settings: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    services_off: dict[str, str] = field(default_factory=dict)  # Hermesh service -> why it should not run here


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys of every leaf (lists and empty objects are leaves; webhooks' topic keys stay whole)."""
    leaves: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and prefix != "webhooks.":
            leaves.update(flatten(value, dotted + "."))
        else:
            leaves[dotted] = value
    return leaves


def shown(key: str, value: Any) -> str:
    if key.rsplit(".", 1)[-1] in SECRET_KEYS and value not in (None, ""):
        return "***"
    text = value if isinstance(value, str) else repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 48 else text[:45] + "..."


def set_path(settings: dict[str, Any], dotted: str, value: Any) -> None:
    node = settings
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def comma_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return []


def resolve_path(raw: str, source: Path) -> Path | None:
    """A Rhasspy path as a real path: ${RHASSPY_PROFILE_DIR} and relative paths point into the profile at
    ``source``; None for a file of Rhasspy's own installation (${RHASSPY_BASE_DIR}), which we do not have."""
    if _BASE_VAR.search(raw):
        return None
    path = Path(os.path.expanduser(_PROFILE_VAR.sub(lambda _match: str(source), raw)))
    return path if path.is_absolute() else source / path


class Converter:
    """Walks one Rhasspy profile.json; ``take``/``skip`` record a row for a key and mark it handled."""

    def __init__(self, data: dict[str, Any], source: Path, target: Path) -> None:
        self.data = data
        self.source = source
        self.target = target  # where the new profile will be (for settings that need absolute paths)
        self.leaves = flatten(data)
        self.done: set[str] = set()
        self.out = Conversion()

    # ---- bookkeeping ---------------------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.leaves

    def get(self, key: str, default: Any = None) -> Any:
        return self.leaves.get(key, default)

    def row(self, key: str, outcome: str, detail: str, value: Any = None) -> None:
        self.done.add(key)
        self.out.rows.append(Row(key, shown(key, self.leaves.get(key) if value is None else value), outcome, detail))

    def note(self, key: str, value: str, outcome: str, detail: str) -> None:
        """A row about something that is not one leaf of the JSON (a default, a derived setting)."""
        self.out.rows.append(Row(key, value, outcome, detail))

    def put(self, target: str, value: Any) -> None:
        set_path(self.out.settings, target, value)

    def take(self, key: str, target: str, value: Any = ..., note: str = "") -> None:
        """Carry ``key`` (or ``value``) over to the Hermesh key ``target``."""
        if value is ...:
            value = self.leaves[key]
        set_path(self.out.settings, target, value)
        self.row(key, CARRIED, target + (f" ({note})" if note else ""))

    def skip(self, key: str, why: str, outcome: str = NOT_CARRIED) -> None:
        if self.has(key) and key not in self.done:
            self.row(key, outcome, why)

    def convert_value(self, key: str, target: str, parse: Callable[[Any], Any], check: Callable[[Any], bool],
                      expect: str) -> None:
        if not self.has(key):
            return
        value = parse(self.leaves[key])
        if value is None or not check(value):
            self.skip(key, f"not carried: {expect}")
        else:
            self.take(key, target, value)

    def unused_systems(self, section: str, selected: str) -> None:
        """Per-system settings of systems that are not the selected one."""
        for key in list(self.leaves):
            parts = key.split(".")
            if key in self.done or parts[0] != section or len(parts) < 3:
                continue
            if parts[1] != selected:
                self.row(key, NOT_USED, f"{section}.system is {selected!r}")

    def not_shipped(self, section: str, system: str) -> None:
        """The settings of a system we do not ship go with it."""
        for key in list(self.leaves):
            if key not in self.done and key.startswith(f"{section}.{system}."):
                self.row(key, NOT_CARRIED, f"not carried: a setting of {system}, which Hermesh does not ship")

    def service_off(self, key: str, service: str, system: str) -> None:
        why = ELSEWHERE[system]
        self.out.services_off[service] = f"{key} is {system!r} ({why})"
        self.row(key, CARRIED, f"(no key) {why}: run 'hermesh up --without {service}'")

    # ---- paths ---------------------------------------------------------------------------------------------
    def resolve(self, raw: str) -> Path | None:
        return resolve_path(raw, self.source)

    def inside(self, path: Path) -> str | None:
        """``path`` relative to the Rhasspy profile, or None when it lies outside."""
        try:
            return path.resolve().relative_to(self.source.resolve()).as_posix()
        except ValueError:
            return None

    def carry_file(self, key: str, target: str, *, builtin: str, absolute: bool = False) -> None:
        """A file setting: copied when it lives in the Rhasspy profile, else pointed at where it is. The value
        is relative to the new profile, or ``absolute`` for settings read from any working directory."""
        raw = self.get(key)
        if not isinstance(raw, str):
            self.skip(key, "not carried: expected a file path")
            return
        if raw == "":
            self.take(key, target, "", note="off, as in Rhasspy")
            return
        path = self.resolve(raw)
        if path is None:
            self.row(key, CARRIED, f"{target} left unset: {builtin}")
            return
        if not path.is_file():
            self.skip(key, f"not carried: {path} does not exist")
            return
        relative = self.inside(path)
        if relative is None:
            self.take(key, target, str(path), note="outside the Rhasspy profile: not copied")
            return
        self.out.copies.append(Copy(path, relative))
        self.take(key, target, str(self.target / relative) if absolute else relative, note=f"copied to {relative}")

"""Settings HTTP clients may not freely write: those that run programs, and paths outside the profile.

A setting that names a program (``intent_handler.command.program``, any ``*.command``, argv lists, an engine
given as a class path) turns "may change the profile" into "may run anything on the host". Over HTTP such a
setting changes only for a caller that proved an admin token; with no auth configured it can be set only in
profile.json on disk. A path-valued setting changed over HTTP must stay inside the profile directory (by
``safe_path``), or ``GET /api/custom-words`` would read ``/etc/passwd``.

Only values that change are checked, so a client may post back a profile holding what the owner wrote on disk.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .auth import Principal
from .http_util import BridgeHTTPError
from .profile_files import ProfileFileError, safe_path

# Last key parts that hold a program or its arguments, wherever they appear.
PROGRAM_NAMES = frozenset({"command", "commands", "program", "programs", "executable", "argv", "args",
                           "arguments", "engine_args"})
PROGRAM_KEYS = frozenset({"wake.precise.engine"})  # the precise-engine executable
# Handed as-is to engine code (a user engine class, or the ASR engine's own options such as model paths).
ENGINE_OPTION_KEYS = frozenset({"asr.engine_options", "wake.engine_options", "tts.engine_options",
                                "wake.custom", "tts.custom"})  # the last two: deprecated names
# Who may reach the API at all: not for a caller to widen.
POLICY_KEYS = frozenset({"bridge.cors_origins", "bridge.allowed_hosts", "http.host",
                         "bridge.login_attempts_threshold", "bridge.login_ban_seconds"})
# Path-valued settings typed as plain strings (Path-typed fields are found from the models).
STRING_PATH_KEYS = frozenset({"asr.custom_words", "wake.pocketsphinx.acoustic_model",
                              "wake.pocketsphinx.dictionary", "wake.precise.model", "dialogue.sounds"})
NOT_A_SETTING_PATH = frozenset({"profile"})  # the profile directory itself; never writable at run time


class SettingRefused(BridgeHTTPError):
    """A settings write that is refused; the message names the key and what to do instead."""


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; empty objects stay as leaves."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _under(key: str, roots: Iterable[str]) -> bool:
    return any(key == root or key.startswith(root + ".") for root in roots)


def runs_code(key: str, value: Any) -> str | None:
    """Why this setting makes the mesh run a program (or None when it does not)."""
    parts = key.split(".")
    if any(part in PROGRAM_NAMES or part.endswith(("_command", "_commands", "_argv", "_program")) for part in parts) \
            or _under(key, PROGRAM_KEYS):
        return "it names a program the mesh runs"
    if parts[-1] == "engine" and isinstance(value, str) and ("." in value or ":" in value):
        return "an engine given as a class path is code the service imports and runs"
    if _under(key, ENGINE_OPTION_KEYS):
        return "it is handed unchecked to engine code"
    if _under(key, POLICY_KEYS):
        return "it decides who may reach this API"
    return None


def path_keys(models: Mapping[str, type[BaseModel]]) -> frozenset[str]:
    """Keys of every Path-typed field of the models (``section.field``, nested models included)."""
    found: set[str] = set(STRING_PATH_KEYS)

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            kinds = typing.get_args(annotation) or (annotation,)
            if any(kind is Path for kind in kinds):
                found.add(prefix + name)
            for kind in kinds:
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    walk(kind, f"{prefix}{name}.")

    for section, model in models.items():
        walk(model, "" if section == "" else f"{section}.")
    return frozenset(found - NOT_A_SETTING_PATH)


def inside_profile(profile: Path, value: str) -> bool:
    """A relative name inside the profile, or an absolute path that resolves inside it (safe_path's rules)."""
    relative = value
    if value.startswith("/"):
        try:
            relative = str(Path(value).resolve().relative_to(profile.resolve()))
        except ValueError:
            return False
    try:
        safe_path(profile, "", relative)
    except ProfileFileError:
        return False
    return True


def check_changes(before: Mapping[str, Any], after: Mapping[str, Any], *, profile: Path, principal: Principal,
                  paths: frozenset[str]) -> None:
    """Refuse the write when a changed setting runs code (without an admin token) or leaves the profile."""
    old, new = flatten(before), flatten(after)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    for key in changed:
        value = new.get(key)
        reason = runs_code(key, value) or (runs_code(key, old.get(key)) if key in old else None)
        if reason and not (principal.is_admin and principal.authenticated):
            how = ("set bridge.auth_token (or an admin JWT) and send it, or edit profile.json on disk"
                   if not principal.authenticated else "use an admin token, or edit profile.json on disk")
            raise SettingRefused(403, f"403: {key} cannot be changed over HTTP without an admin token because "
                                      f"{reason}; {how}")
    for key in changed:
        value = new.get(key)
        if value is None or isinstance(value, Mapping) or not _under(key, paths):
            continue
        if not isinstance(value, str) or not inside_profile(profile, value):
            raise SettingRefused(400, f"{key}: {value!r} is outside the profile directory {profile}; over HTTP "
                                      "a path must name a file inside the profile (other places: edit "
                                      "profile.json on disk)")

"""Settings: one pydantic model per service, layered defaults < profile.json < HERMESH_* environment < CLI flags.

profile.json holds the common keys at the top level (``site_ids``, ``language``, ``mqtt``, ``http``, ...) and one
object per service named after it (``nlu``, ``asr``, ``audio_input``, ...). The environment uses
``HERMESH_<KEY>`` for common keys and ``HERMESH_<SECTION>__<KEY>`` below a section (``HERMESH_MQTT__PORT=1884``,
``HERMESH_NLU__FUZZY=false``); values are parsed as JSON where they can be, else taken as strings.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from hermes.common import DEFAULT_SITE
from hermes.site_ids import check_site_id

ENV_PREFIX = "HERMESH_"
PROFILE_FILE = "profile.json"

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the file, the key and what is wrong."""


class SettingsModel(BaseModel):
    """Base of every settings model: unknown keys are an error, so a typo in profile.json is reported."""


    # No inf/nan floats: every timeout, rate and volume must be a real number (a wait of inf never ends).
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class MqttSettings(SettingsModel):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = Field(False, description="skip the broker certificate's host name check")
    keepalive: int = Field(30, ge=5, le=3600)
    shared_group: str | None = Field(
        None, description="join a worker pool: subscribe through MQTT 5 shared subscriptions of this group"
    )


class HttpSettings(SettingsModel):
    host: str = "127.0.0.1"
    port: int = Field(12101, ge=1, le=65535)
    wyoming_port: int = Field(10300, ge=1, le=65535)


class SiteStateSettings(SettingsModel):
    """How long a quiet site's state is kept, and how many sites at most (services/runtime/site_registry.py)."""

    idle_seconds: float = Field(
        300.0, gt=0, description="state of a site unused this long is freed (it is rebuilt when the site speaks)"
    )
    max_sites: int = Field(1000, ge=1, description="sites tracked at most; beyond, the least recently used goes")
    max_queued_per_site: int = Field(
        2000, ge=1, description="messages of one site waiting to be handled (2 minutes of audio frames); more are "
        "dropped and reported")
    max_queued: int = Field(20000, ge=1, description="messages of all sites waiting to be handled; more are dropped")


class CommonSettings(SettingsModel):
    """What every process shares: where the profile and the broker are, and which sites it serves."""

    profile: Path = Field(default_factory=lambda: default_profile_dir())
    site_ids: list[str] = Field(default_factory=list, description="sites served; empty means every site")
    language: str = "en"
    log_level: str = "INFO"
    instance: str | None = Field(None, description="instance name in the status topic (default: the host name)")
    mqtt: MqttSettings = Field(default_factory=lambda: MqttSettings())
    http: HttpSettings = Field(default_factory=lambda: HttpSettings())
    site_state: SiteStateSettings = Field(default_factory=lambda: SiteStateSettings())

    @field_validator("site_ids", mode="before")
    @classmethod
    def _split_site_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("site_ids")
    @classmethod
    def _check_site_ids(cls, value: list[str]) -> list[str]:
        return [check_site_id(site) for site in value]

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("log level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def own_site_id(self) -> str:
        """The site this machine speaks as (audio input, wake button): the first configured site id."""
        return self.site_ids[0] if self.site_ids else DEFAULT_SITE


COMMON_KEYS = frozenset(CommonSettings.model_fields)


def default_profile_dir() -> Path:
    env = os.environ.get(ENV_PREFIX + "PROFILE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "hermesh" / "profile"


def read_profile_json(profile: Path) -> dict[str, Any]:
    """The profile's JSON settings ({} when there is no profile.json yet)."""
    path = profile / PROFILE_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must contain a JSON object, not {type(data).__name__}")
    return data


def environment_layer(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``HERMESH_A__B=v`` -> ``{"a": {"b": v}}`` (values parsed as JSON when possible)."""
    environ = os.environ if environ is None else environ
    layer: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "PROFILE":
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = layer
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[path[-1]] = value
    return layer


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def renamed_keys(data: Any, renamed: Mapping[str, str], section: str) -> Any:
    """A settings object with deprecated keys moved to their new names (a warning each); for a
    ``model_validator(mode="before")``. Mappings are merged, the new key winning."""
    if not isinstance(data, Mapping) or not any(old in data for old in renamed):
        return data
    data = dict(data)
    for old, new in renamed.items():
        if old not in data:
            continue
        value = data.pop(old)
        logging.getLogger("hermesh.config").warning("%s.%s is deprecated: use %s.%s", section, old, section, new)
        current = data.get(new)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            data[new] = {**value, **current}
        elif new not in data:
            data[new] = value
    return data


def validate_layer(model: type[M], data: Mapping[str, Any], where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = []
        for problem in err.errors():
            key = ".".join(str(p) for p in problem["loc"]) or "(top level)"
            problems.append(f"key '{key}': {problem['msg']}")
        raise ConfigError(f"{where}: " + "; ".join(problems)) from err


def load_common(profile: Path | None, cli: Mapping[str, Any] | None = None) -> CommonSettings:
    """Common settings from defaults, the profile's JSON, the environment and CLI flags (in that order)."""
    env = environment_layer()
    cli = dict(cli or {})
    profile_dir = Path(cli.get("profile") or env.get("profile") or profile or default_profile_dir())
    file_layer = {k: v for k, v in read_profile_json(profile_dir).items() if k in COMMON_KEYS}
    data = deep_merge(deep_merge(file_layer, {k: v for k, v in env.items() if k in COMMON_KEYS}), cli)
    data["profile"] = profile_dir
    return validate_layer(CommonSettings, data, f"settings (profile {profile_dir / PROFILE_FILE}, HERMESH_*, flags)")


def load_section(model: type[M], common: CommonSettings, section: str, overrides: Mapping[str, Any] | None = None) -> M:
    """A service's settings: the profile's ``section`` object < ``HERMESH_<SECTION>__*`` < ``overrides``."""
    path = common.profile / PROFILE_FILE
    file_section = read_profile_json(common.profile).get(section, {})
    if not isinstance(file_section, dict):
        raise ConfigError(f"{path}: key '{section}' must be an object")
    env_section = environment_layer().get(section, {})
    data = deep_merge(deep_merge(file_section, env_section if isinstance(env_section, dict) else {}), overrides or {})
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = []
        for problem in err.errors():
            key = ".".join([section, *(str(p) for p in problem["loc"])])
            problems.append(f"key '{key}': {problem['msg']}")
        raise ConfigError(f"{path}: " + "; ".join(problems)) from err


def parse_set_options(pairs: list[str]) -> dict[str, Any]:
    """``--set key=value`` / ``--set a.b=value`` flags as a nested dict (values parsed as JSON when possible)."""
    result: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set fuzzy=false")
        key, raw = pair.split("=", 1)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = result
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"--set {pair!r}: empty key")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return result


def service_section(name: str) -> str:
    """The profile.json object of a service: ``audio-input`` -> ``audio_input``."""
    return name.replace("-", "_")

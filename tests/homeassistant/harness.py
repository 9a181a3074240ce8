"""A real Home Assistant 2024.3.3 on loopback for the HA test tier: configure, start, wait, token, stop.

The configuration is minimal and offline (no ``default_config:``): REST API, intents, conversation, plus test
fixtures: a template light exposed to Assist, input helpers, an automation on ``rhasspy_ChangeLightColor``, an
``intent_script`` for ``ChangeLightColor`` and a shopping list (a config entry seeded in ``.storage``). The long-lived access token is seeded into ``.storage`` before the
first start (an owner user and a refresh token of type long_lived_access_token with our own JWT key), so no
browser and no onboarding calls are needed. Every wait is bounded; a failure raises ``HomeAssistantError`` with
the tail of HA's log. ``stop()`` ends the whole process group, with SIGKILL as the last resort.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from .ha_venv import HA_VERSION, ensure_ha_venv, hass_executable

START_TIMEOUT = 180.0  # seconds until HTTP answers and the core is RUNNING (about 5-20 s on a loaded 2-core box)
STOP_TIMEOUT = 30.0

CONFIGURATION = """\
homeassistant:
  name: hermesh-test
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: NL
  internal_url: "{base}"

http:
  server_host: 127.0.0.1
  server_port: {port}

api:
intent:
conversation:
logger:
  default: warning

input_boolean:
  bedroom_light_state:
    name: Bedroom light state

input_text:
  last_rhasspy_event:
    name: Last rhasspy event
    initial: ""
  last_intent:
    name: Last intent
    initial: ""

light:
  - platform: template
    lights:
      bedroom_light:
        friendly_name: "Bedroom Light"
        unique_id: hermesh_bedroom_light   # in the entity registry, so exposed to Assist
        value_template: "{{{{ is_state('input_boolean.bedroom_light_state', 'on') }}}}"
        turn_on:
          service: input_boolean.turn_on
          target: {{entity_id: input_boolean.bedroom_light_state}}
        turn_off:
          service: input_boolean.turn_off
          target: {{entity_id: input_boolean.bedroom_light_state}}

automation:
  - id: hermesh_rhasspy_change_light_color
    alias: rhasspy ChangeLightColor event
    trigger:
      - platform: event
        event_type: rhasspy_ChangeLightColor
    action:
      - service: input_text.set_value
        target: {{entity_id: input_text.last_rhasspy_event}}
        data:
          value: "{{{{ trigger.event.data.name }}}}/{{{{ trigger.event.data.color }}}}/{{{{ trigger.event.data._site_id }}}}"

intent_script:
  ChangeLightColor:
    speech:
      text: "Setting {{{{ name }}}} to {{{{ color }}}}"
    action:
      - service: input_text.set_value
        target: {{entity_id: input_text.last_intent}}
        data:
          value: "{{{{ name }}}}/{{{{ color }}}}"
"""


class HomeAssistantError(RuntimeError):
    """Home Assistant could not be installed, started or stopped; the message says what to look at."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_jwt(claims: dict[str, object], key: str) -> str:
    """A JWT signed with HMAC-SHA256, as HA signs access tokens with a refresh token's jwt_key."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(signature)}"


def seed_shopping_list(config_dir: Path) -> None:
    """The shopping list integration as a config entry (it has no YAML set-up: ``shopping_list:`` only starts an
    import flow, which this offline HA never finished), so HA's built-in "add milk to the shopping list" works."""
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    entry = {"entry_id": uuid.uuid4().hex, "version": 1, "minor_version": 1, "domain": "shopping_list",
             "title": "Shopping list", "data": {}, "options": {}, "pref_disable_new_entities": False,
             "pref_disable_polling": False, "source": "user", "unique_id": None, "disabled_by": None}
    (storage / "core.config_entries").write_text(json.dumps(
        {"version": 1, "minor_version": 1, "key": "core.config_entries", "data": {"entries": [entry]}}, indent=2))


def seed_token(config_dir: Path) -> str:
    """Write .storage/auth + onboarding for a fresh config dir and return a long-lived access token."""
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    user_id, refresh_id = uuid.uuid4().hex, uuid.uuid4().hex
    jwt_key = secrets.token_hex(64)
    lifespan = 3650 * 86400
    now = int(time.time())
    auth = {"version": 1, "minor_version": 1, "key": "auth", "data": {
        "users": [{"id": user_id, "group_ids": ["system-admin"], "is_owner": True, "is_active": True,
                   "name": "Hermesh Test", "system_generated": False, "local_only": False}],
        "groups": [{"id": "system-admin", "name": "Administrators"}, {"id": "system-users", "name": "Users"},
                   {"id": "system-read-only", "name": "Read Only"}],
        "credentials": [],
        "refresh_tokens": [{
            "id": refresh_id, "user_id": user_id, "client_id": None, "client_name": "hermesh-tests",
            "client_icon": None, "token_type": "long_lived_access_token",
            "created_at": datetime.now(UTC).isoformat(), "access_token_expiration": float(lifespan),
            "token": secrets.token_hex(64), "jwt_key": jwt_key, "last_used_at": None, "last_used_ip": None,
            "expire_at": None, "credential_id": None, "version": HA_VERSION}],
    }}
    onboarding = {"version": 4, "minor_version": 1, "key": "onboarding",
                  "data": {"done": ["user", "core_config", "analytics", "integration"]}}
    (storage / "auth").write_text(json.dumps(auth, indent=2))
    (storage / "onboarding").write_text(json.dumps(onboarding, indent=2))
    return hs256_jwt({"iss": refresh_id, "iat": now, "exp": now + lifespan}, jwt_key)


class HomeAssistant:
    """One HA instance: ``start()`` then ``base``/``token``; ``stop()`` always leaves no process behind."""

    def __init__(self, config_dir: Path, port: int) -> None:
        self.config_dir = config_dir
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.token = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = config_dir / "hass.out"
        self.startup_seconds = 0.0

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def start(self) -> None:
        venv = ensure_ha_venv()
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(CONFIGURATION.format(base=self.base, port=self.port))
        self.token = seed_token(self.config_dir)
        seed_shopping_list(self.config_dir)
        began = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(hass_executable(venv)), "-c", str(self.config_dir), "--skip-pip"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        try:
            self._wait_running(began + START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def _wait_running(self, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        state = "not answering"
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise HomeAssistantError(
                        f"Home Assistant exited with {self.process.returncode} during start-up; "
                        f"log {self.log_path}:\n{self.log_tail()}")
                try:
                    response = client.get(f"{self.base}/api/config", headers=headers)
                    if response.status_code == 200:
                        state = response.json().get("state", "?")
                        if state == "RUNNING":
                            return
                    else:
                        state = f"HTTP {response.status_code}"
                except httpx.HTTPError as err:
                    state = f"not answering ({type(err).__name__})"
                time.sleep(0.25)  # polling a process start-up: there is no event to await
        raise HomeAssistantError(f"Home Assistant on {self.base} not RUNNING within {START_TIMEOUT:g} s "
                                 f"(last: {state}); log {self.log_path}:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # anything HA started and left behind

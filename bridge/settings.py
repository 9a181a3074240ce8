"""The bridge's own settings (profile.json "bridge" section, HERMESH_BRIDGE__*, ``hermesh bridge --set``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from services.config import SettingsModel

from .url_root import check_url_root

# Settings that must never be shown by GET /api/config or the log.
SECRET_FIELDS = frozenset({"auth_token", "jwt_secret", "home_assistant_token"})


class BridgeSettings(SettingsModel):
    auth_token: SecretStr | None = Field(
        None, description="shared API token: query ?token=... or 'Authorization: Bearer ...' (admin rights)"
    )
    jwt_secret: SecretStr | None = Field(
        None, description="HS256 secret for JWTs carrying user.username and user.role (admin | user)"
    )
    certfile: Path | None = Field(None, description="TLS certificate (PEM): serve HTTPS and WSS")
    keyfile: Path | None = Field(None, description="TLS private key (PEM)")
    max_body_bytes: int = Field(50 * 1024 * 1024, ge=1024, description="largest accepted request body")
    max_ws_message_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest accepted websocket message")
    # Finite upper bounds: a wait of inf (or a day) is a request that never answers.
    reply_timeout: float = Field(30.0, gt=0, le=3600, description="seconds to wait for a service's reply")
    train_timeout: float = Field(600.0, gt=0, le=86400, description="seconds to wait for training to finish")
    mqtt_poll_timeout: float = Field(300.0, gt=0, le=3600, description="GET /api/mqtt/<topic> long-poll limit")
    say_chars_per_second: float = Field(33.0, gt=0, le=10000, description="speech rate used to size TTS waits")
    worker_lost_timeout: float = Field(2.0, gt=0, le=3600, description=(
        "seconds a request still waits when one worker of the pool it went to dies (it may have had it), "
        "before answering 503"))
    cors_origins: list[str] = Field(
        default_factory=list,
        description="browser origins (scheme://host[:port]) other than the bridge itself that may call the API; "
                    "default none. '*' is refused: any web page could then drive the assistant",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="host names the bridge answers to besides IP literals, localhost and this machine's name "
                    "(Host header check against DNS rebinding)",
    )
    login_attempts_threshold: int = Field(
        10, ge=0, description="failed logins (bad tokens) from one address within login_ban_seconds before it "
                              "is refused for login_ban_seconds; 0 disables")
    login_ban_seconds: float = Field(60.0, gt=0, le=86400, description="see login_attempts_threshold")
    web_dir: Path | None = Field(None, description="static web UI directory (default: bridge/web when present)")
    home_assistant_url: str | None = Field(None, description="Home Assistant base URL, e.g. http://127.0.0.1:8123")
    home_assistant_token: SecretStr | None = Field(None, description="Home Assistant long-lived access token")
    audio_site_prefix: str = Field("browser", description="site id prefix of /api/audio clients without siteId")
    wyoming: bool = Field(True, description="start the Wyoming server on http.wyoming_port when available")
    # Rhasspy's profile "system" section; empty by default, so POST /api/system cannot power anything off
    # until the owner writes the argv (e.g. ["sudo", "-n", "/sbin/shutdown", "-r", "now"]).
    system_commands: dict[Literal["reboot", "shutdown"], list[str]] = Field(
        default_factory=dict,
        description='argv run by POST /api/system with body "reboot" or "shutdown" (no shell); default none',
    )
    url_root: str = Field("", description="path prefix of every route, websocket, the OpenAPI document and the "
                                          "web UI, e.g. /hermesh (Rhasspy's --url-root); default none")
    system_command_timeout: float = Field(30.0, gt=0, le=3600, description="seconds a system command may run")

    @field_validator("url_root")
    @classmethod
    def _check_url_root(cls, value: str) -> str:
        return check_url_root(value)

    @field_validator("system_commands")
    @classmethod
    def _check_system_commands(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, argv in value.items():
            # Run without a shell: one string with spaces would be looked up as a program named that way.
            if not argv or any(not isinstance(a, str) or not a or "\0" in a for a in argv):
                raise ValueError(f"system_commands.{name} must be a non-empty list of non-empty strings, e.g. "
                                 '["sudo", "-n", "/sbin/shutdown", "-h", "now"]')
            if len(argv) == 1 and " " in argv[0].strip():
                raise ValueError(f"system_commands.{name} is {argv!r}: give the program and each argument as "
                                 f"separate list items, e.g. {argv[0].split()!r} (no shell runs it)")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        cleaned = []
        for origin in value:
            if origin.strip() == "*":
                raise ValueError("'*' is not allowed: list the origins, e.g. https://ha.example:8123")
            parts = urlsplit(origin.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
                    or parts.query or parts.fragment:
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], e.g. "
                                 "https://ha.example:8123")
            cleaned.append(f"{parts.scheme}://{parts.netloc}".lower())
        return cleaned

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not host or any(c in host for c in "/:@ *"):
                raise ValueError(f"{host!r} is not a host name (write e.g. hermesh.lan, without port)")
        return [host.lower().rstrip(".") for host in value]

    @field_validator("home_assistant_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def auth_enabled(self) -> bool:
        return bool(self.auth_token or self.jwt_secret)

"""The bridge's own settings (profile.json "bridge" section, HERMESH_BRIDGE__*, ``hermesh bridge --set``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from services.config import SettingsModel

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
    reply_timeout: float = Field(30.0, gt=0, description="seconds to wait for a service's reply")
    train_timeout: float = Field(600.0, gt=0, description="seconds to wait for training to finish")
    mqtt_poll_timeout: float = Field(300.0, gt=0, description="GET /api/mqtt/<topic> long-poll limit")
    say_chars_per_second: float = Field(33.0, gt=0, description="speech rate used to size TTS waits")
    cors_origins: list[str] = Field(default_factory=lambda: ["*"], description="allowed browser origins")
    web_dir: Path | None = Field(None, description="static web UI directory (default: bridge/web when present)")
    home_assistant_url: str | None = Field(None, description="Home Assistant base URL, e.g. http://127.0.0.1:8123")
    home_assistant_token: SecretStr | None = Field(None, description="Home Assistant long-lived access token")
    audio_site_prefix: str = Field("browser", description="site id prefix of /api/audio clients without siteId")
    wyoming: bool = Field(True, description="start the Wyoming server on http.wyoming_port when available")

    @field_validator("home_assistant_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def auth_enabled(self) -> bool:
        return bool(self.auth_token or self.jwt_secret)

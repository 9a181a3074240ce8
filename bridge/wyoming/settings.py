"""Settings of the Wyoming server and satellite clients (profile.json ``"wyoming"``)."""

from __future__ import annotations

from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator

from hermes.site_ids import check_site_id
from services.config import SettingsModel, load_section

SECTION = "wyoming"
CONNECTION_SUFFIX_CHARS = 10  # a server connection speaks as <site_prefix>-<10 hex digits>


def check_tcp_uri(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme != "tcp" or not parsed.hostname or parsed.port is None:
        raise ValueError(f"{uri!r} is not a Wyoming address like tcp://192.168.1.20:10700")
    return uri


class SatelliteConfig(SettingsModel):
    """A Wyoming satellite the mesh dials (as Home Assistant would); it becomes the site ``site_id``."""

    uri: str
    site_id: str | None = Field(None, description="Hermes site of the satellite (default: its info name or host)")
    language: str | None = Field(None, description="language sent in transcribe events (default: the profile's)")

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        return check_tcp_uri(value)

    @field_validator("site_id")
    @classmethod
    def _check_site(cls, value: str | None) -> str | None:
        return None if value is None else check_site_id(value)


class WyomingSettings(SettingsModel):
    program_name: str = Field("hermesh", description="prefix of the program names Home Assistant shows")
    site_prefix: str = Field("wyoming", description="site ids of server connections are <prefix>-<random>")
    reply_timeout: float = Field(15.0, gt=0, description="seconds to wait for a mesh service's answer")
    handle_timeout: float = Field(10.0, gt=0, description="seconds to wait for an intent handler's reply")
    detect_grace: float = Field(0.5, ge=0, description="seconds after audio-stop to wait for a late detection")
    transcript_streaming: bool = Field(True, description="send transcript-start/-chunk/-stop around transcripts")
    handled_streaming: bool = Field(True, description="send handled-start/-chunk/-stop around handled")
    not_understood_text: str = Field("Sorry, I did not understand that.", description="not-handled text")
    info_refresh: float = Field(30.0, gt=0, description="seconds after which voices and wake words are asked again")
    satellites: list[SatelliteConfig] = Field(default_factory=list)

    @field_validator("site_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        check_site_id(value + "-" + "0" * CONNECTION_SUFFIX_CHARS)  # what a connection's site id will be
        return value
    satellite_ping_interval: float = Field(2.0, gt=0)
    satellite_ping_timeout: float = Field(5.0, gt=0, description="drop a satellite silent for this long")
    satellite_describe_timeout: float = Field(3.0, gt=0)
    satellite_reconnect_max: float = Field(10.0, gt=0, description="longest pause between reconnection attempts")

    @field_validator("satellites", mode="before")
    @classmethod
    def _uris_as_objects(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"uri": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _unique_sites(self) -> WyomingSettings:
        seen: set[str] = set()
        for sat in self.satellites:
            if sat.site_id and sat.site_id in seen:
                raise ValueError(f"two satellites use site id {sat.site_id!r}")
            if sat.site_id:
                seen.add(sat.site_id)
        return self


def load_wyoming_settings(common: object) -> WyomingSettings:
    return load_section(WyomingSettings, common, SECTION)  # type: ignore[arg-type]

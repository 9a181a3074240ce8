"""Audio server messages: microphone frames, playback, devices, volume, summaries."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from .base import BinaryMessage, HermesMessage, HermesModel, topic_field
from .common import DEFAULT_SITE, SiteMessage


class AudioFrame(BinaryMessage):
    """One chunk of the continuous microphone stream of a site: a complete small WAV file."""

    TOPIC = "hermes/audioServer/{site_id}/audioFrame"
    site_id: str = topic_field(default=DEFAULT_SITE)


class AudioSessionFrame(BinaryMessage):
    """Audio for one ASR session only (the HTTP API's speech-to-text uploads)."""

    TOPIC = "hermes/audioServer/{site_id}/{session_id}/audioSessionFrame"
    site_id: str = topic_field(default=DEFAULT_SITE)
    session_id: str = topic_field(default="")


class AudioPlayBytes(BinaryMessage):
    """A whole WAV file to play on a site; ``request_id`` comes back as playFinished's ``id``."""

    TOPIC = "hermes/audioServer/{site_id}/playBytes/{request_id}"
    site_id: str = topic_field(default=DEFAULT_SITE)
    request_id: str = topic_field(default="")


class AudioPlayFinished(HermesMessage):
    """Playback done (also after an error or while output is off). The site is only in the topic."""

    TOPIC = "hermes/audioServer/{site_id}/playFinished"
    id: str | None = None
    session_id: str | None = None
    site_id: str = topic_field(default=DEFAULT_SITE)


class AudioToggleOn(SiteMessage):
    TOPIC = "hermes/audioServer/toggleOn"


class AudioToggleOff(SiteMessage):
    TOPIC = "hermes/audioServer/toggleOff"


class SummaryToggleOn(SiteMessage):
    TOPIC = "hermes/audioServer/toggleSummaryOn"


class SummaryToggleOff(SiteMessage):
    TOPIC = "hermes/audioServer/toggleSummaryOff"


class AudioSummary(HermesMessage):
    """Microphone level meter, sent while summaries are switched on."""

    TOPIC = "hermes/audioServer/{site_id}/audioSummary"
    debiased_energy: float
    is_speech: bool | None = None
    site_id: str = topic_field(default=DEFAULT_SITE)


class AudioDeviceMode(StrEnum):
    INPUT = "input"
    OUTPUT = "output"


class AudioDevice(HermesModel):
    mode: AudioDeviceMode
    id: str
    name: str | None = None
    description: str | None = None
    working: bool | None = None


class AudioGetDevices(HermesMessage):
    TOPIC = "rhasspy/audioServer/getDevices"
    modes: list[AudioDeviceMode]
    site_id: str = DEFAULT_SITE
    id: str | None = None
    test: bool = False


class AudioDevices(HermesMessage):
    TOPIC = "rhasspy/audioServer/devices"
    devices: list[AudioDevice]
    site_id: str = DEFAULT_SITE
    id: str | None = None


class AudioSetVolume(HermesMessage):
    TOPIC = "rhasspy/audioServer/setVolume"
    volume: float
    site_id: str = DEFAULT_SITE


class AudioPlayBytesStreaming(BinaryMessage):
    """Snips streaming playback; a chunk of a longer sound. Not used by Rhasspy."""

    TOPIC = "hermes/audioServer/{site_id}/playBytesStreaming/{request_id}/{chunk_number}/{is_last_chunk}"
    site_id: str = topic_field(default=DEFAULT_SITE)
    request_id: str = topic_field(default="")
    chunk_number: int = topic_field(default=0)
    is_last_chunk: int = topic_field(default=0)


class AudioStreamFinished(HermesMessage):
    """Snips: end of a streamed playback."""

    TOPIC = "hermes/audioServer/{site_id}/streamFinished"
    id: str | None = None
    site_id: str = DEFAULT_SITE




class AudioReplayRequest(HermesMessage):
    """Snips audio replay request. Not used by Rhasspy."""

    TOPIC = "hermes/audioServer/{site_id}/replayRequest"
    request_id: str
    start_at_ms: int = 0
    site_id: str = DEFAULT_SITE


class AudioReplayResponse(BinaryMessage):
    """Snips audio replay answer: the requested audio."""

    TOPIC = "hermes/audioServer/{site_id}/replayResponse"
    site_id: str = topic_field(default=DEFAULT_SITE)


# Hermesh's device tests (the web UI's "record 3 s, play it back"): Rhasspy's getDevices {test: true} only says
# whether a microphone hears anything; these bring the sound itself back, and play a sound on a chosen speaker.
MAX_TEST_SECONDS = 10.0


def check_device_id(value: str) -> str:
    """A device id or name as getDevices lists it; it becomes a topic level, so no MQTT separators."""
    if not value or len(value) > 128 or any(c in value for c in "/+#\x00"):
        raise ValueError(f"not a device id: {value[:40]!r} (1 to 128 characters, no '/', '+', '#')")
    return value


class AudioRecordTest(HermesMessage):
    """Record ``seconds`` from one microphone of a site and send the sound back (recordTestResult)."""

    TOPIC = "hermesh/audioServer/recordTest"
    device: str
    seconds: float = Field(3.0, gt=0.0, le=MAX_TEST_SECONDS)
    id: str
    site_id: str = DEFAULT_SITE

    @field_validator("device")
    @classmethod
    def _device_id(cls, value: str) -> str:
        return check_device_id(value)


class AudioRecordTestResult(BinaryMessage):
    """The WAV (16 kHz mono) a recordTest recorded; ``request_id`` is the request's ``id``."""

    TOPIC = "hermesh/audioServer/{site_id}/recordTestResult/{request_id}"
    site_id: str = topic_field(default=DEFAULT_SITE)
    request_id: str = topic_field(default="")


class AudioPlayTest(BinaryMessage):
    """A WAV to play on one speaker of a site, whatever device the site plays on otherwise; answered with
    playFinished whose ``id`` is ``request_id``."""

    TOPIC = "hermesh/audioServer/{site_id}/playTest/{device}/{request_id}"
    site_id: str = topic_field(default=DEFAULT_SITE)
    device: str = topic_field(default="default")
    request_id: str = topic_field(default="")

    @field_validator("device")
    @classmethod
    def _device_id(cls, value: str) -> str:
        return check_device_id(value)


__all__ = [name for name, value in globals().items() if isinstance(value, type) and issubclass(value, BaseModel)]

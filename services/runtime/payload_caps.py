"""The largest MQTT payload a service accepts, per kind of topic: the one source of truth for these numbers.

The service runtime drops (and counts, and reports) any payload over the cap of its topic's kind before
parsing it, so a hostile or broken client cannot make a service hold gigabytes; Mosquitto's
``message_size_limit`` in mosquitto/*.conf and in the tests' broker is ``BROKER_MESSAGE_SIZE_LIMIT``, the
largest cap, so the broker refuses what no service would accept (tests/runtime/test_payload_caps.py checks
that every conf file agrees with this module).

Each cap is well above the largest legitimate payload of its kind:

============  =======  ==========================================================================================
kind          cap      the largest real payload
============  =======  ==========================================================================================
audio frame   1 MiB    audioFrame / audioSessionFrame, one chunk of a stream: ours are 1,024 samples (2 KB), the
                       HTTP API's 4,096 (8 KB); a satellite sending 1 s chunks of 48 kHz stereo 32-bit audio
                       sends 384 KB.
sound         64 MiB   playBytes, audioCaptured and the other whole WAV files: the longest answer the bridge lets
                       the TTS speak (10,000 characters, bridge/http_util.py MAX_TEXT_CHARS) is 468 s of espeak-ng
                       at 22,050 Hz 16-bit mono = 20.7 MB, 41 MB at half the speaking rate; an utterance of
                       audioCaptured is at most the ASR's max_seconds (120 s at 16 kHz = 3.8 MB).
training      16 MiB   rhasspy/asr|nlu/<site>/train carry every sentence and slot value of the profile (a slot of
                       100,000 song titles is ~4 MB of JSON); rhasspy/train/intentGraph is that graph, gzipped;
                       hermes/injection/perform may carry as many values as a slot file holds.
JSON          1 MiB    every other message: texts are at most 10,000 characters (60 KB even as \\u escapes); an
                       intent of such a text with its tokens and slots stays under 300 KB.
============  =======  ==========================================================================================

Topics no Hermes message uses (a Snips app's own, the bridge's MQTT tap) get the largest cap: what they
carry is not ours to know, and the broker bounds them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from enum import StrEnum

from hermes.audioserver import AudioFrame, AudioSessionFrame
from hermes.base import HermesMessage, UnknownTopicError
from hermes.common import TrainMessage
from hermes.registry import message_class_for
from hermes.snips import InjectionPerform
from hermes.train import IntentGraph

MIB = 1024 * 1024


class PayloadKind(StrEnum):
    AUDIO_FRAME = "audio frame"
    SOUND = "sound"
    TRAINING = "training"
    JSON = "JSON"


PAYLOAD_CAPS: dict[PayloadKind, int] = {
    PayloadKind.AUDIO_FRAME: 1 * MIB,
    PayloadKind.SOUND: 64 * MIB,
    PayloadKind.TRAINING: 16 * MIB,
    PayloadKind.JSON: 1 * MIB,
}

# Mosquitto's message_size_limit: what no service accepts, the broker does not even forward.
BROKER_MESSAGE_SIZE_LIMIT = max(PAYLOAD_CAPS.values())
# Mosquitto's max_packet_size (where it is set): the limit plus room for the topic and MQTT 5 properties. A
# client sending a bigger packet is disconnected; one just over message_size_limit only has the message dropped.
BROKER_MAX_PACKET_SIZE = BROKER_MESSAGE_SIZE_LIMIT + 64 * 1024


def kind_of_class(cls: type[HermesMessage]) -> PayloadKind:
    if cls in (AudioFrame, AudioSessionFrame):
        return PayloadKind.AUDIO_FRAME
    if issubclass(cls, TrainMessage) or cls in (IntentGraph, InjectionPerform):
        return PayloadKind.TRAINING
    if cls.BINARY:
        return PayloadKind.SOUND
    return PayloadKind.JSON


# Bounded: every Wyoming connection brings topics with a new site id in them.
@functools.lru_cache(maxsize=4096)
def kind_of_topic(topic: str) -> PayloadKind | None:
    """The kind of the Hermes message published on ``topic``; None for a topic no Hermes message uses."""
    try:
        return kind_of_class(message_class_for(topic))
    except UnknownTopicError:
        return None


def cap_of_topic(topic: str) -> tuple[PayloadKind | None, int]:
    kind = kind_of_topic(topic)
    return kind, PAYLOAD_CAPS[kind] if kind is not None else BROKER_MESSAGE_SIZE_LIMIT


class DropReports:
    """Counts dropped payloads per kind and says when to report them: the first at once, then at most one report
    per kind every ``interval`` seconds (with the number dropped since), so a flood cannot flood the logs."""

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self.dropped: dict[str, int] = {}  # kind -> payloads dropped since start
        self._unreported: dict[str, int] = {}
        self._next_report: dict[str, float] = {}

    def drop(self, kind: str) -> int:
        """Count one dropped payload; returns how many to report now (0: stay quiet)."""
        self.dropped[kind] = self.dropped.get(kind, 0) + 1
        self._unreported[kind] = self._unreported.get(kind, 0) + 1
        now = self._clock()
        if now < self._next_report.get(kind, float("-inf")):
            return 0
        self._next_report[kind] = now + self.interval
        count, self._unreported[kind] = self._unreported[kind], 0
        return count

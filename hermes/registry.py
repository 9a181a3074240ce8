"""Turn any (topic, payload) received from MQTT into the right message class, or a clear error."""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from . import asr, audioserver, dialogue, errors, g2p, handle, hotword, nlu, snips, status, timer, train, tts
from .base import HermesMessage, UnknownTopicError
from .common import HermesErrorMessage

_MODULES = (audioserver, hotword, asr, nlu, dialogue, tts, g2p, handle, train, errors, snips, status, timer)


def _collect(modules: Iterable[object]) -> tuple[type[HermesMessage], ...]:
    found: dict[str, type[HermesMessage]] = {}
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, HermesMessage)
                and "TOPIC" in cls.__dict__
                and cls is not HermesErrorMessage
            ):
                found[cls.__qualname__ + cls.__module__] = cls
    return tuple(found.values())


MESSAGE_CLASSES: tuple[type[HermesMessage], ...] = _collect(_MODULES)

# Topics without parameters are found by one dictionary look-up; only the rest are matched by regex.
_FIXED = {cls.TOPIC: cls for cls in MESSAGE_CLASSES if not cls.topic_params()}
_PARAMETRISED = tuple(cls for cls in MESSAGE_CLASSES if cls.topic_params())


def message_class_for(topic: str) -> type[HermesMessage]:
    """The one class published on ``topic``; raises UnknownTopicError."""
    cls = _FIXED.get(topic)
    if cls is not None:
        return cls
    for candidate in _PARAMETRISED:
        if candidate.is_topic(topic):
            return candidate
    raise UnknownTopicError(topic)


def parse(topic: str, payload: bytes | str) -> HermesMessage:
    """Parse a received message; raises UnknownTopicError or MessageParseError (both ValueErrors)."""
    cls = message_class_for(topic)
    params = cls.parse_topic(topic) or {}
    return cls.from_payload(payload, params)

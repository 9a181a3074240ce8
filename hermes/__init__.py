"""The Hermes protocol as Hermesh speaks it: message models, topics, the registry and WAV framing.

Pure: no sockets, no asyncio, no engines.
"""

from .base import (
    BinaryMessage,
    HermesMessage,
    HermesModel,
    HermesProtocolError,
    MessageParseError,
    UnknownTopicError,
)
from .common import DEFAULT_SITE, HermesErrorMessage, ToggleReason

__all__ = [
    "BinaryMessage",
    "DEFAULT_SITE",
    "HermesErrorMessage",
    "HermesMessage",
    "HermesModel",
    "HermesProtocolError",
    "MessageParseError",
    "ToggleReason",
    "UnknownTopicError",
]

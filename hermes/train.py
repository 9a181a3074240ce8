"""Training messages: the intent graph request and its binary answer."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from .base import BinaryMessage, HermesMessage, topic_field
from .common import DEFAULT_SITE


class IntentGraphRequest(HermesMessage):
    TOPIC = "rhasspy/train/getIntentGraph"
    id: str
    site_id: str = DEFAULT_SITE


class IntentGraph(BinaryMessage):
    """The compiled intent graph (Rhasspy sends a gzipped pickle; Hermesh sends its own gzipped JSON)."""

    TOPIC = "rhasspy/train/intentGraph/{request_id}"
    request_id: str = topic_field(default="")

    @property
    def graph_bytes(self) -> bytes:
        return self.wav_bytes

    @classmethod
    def with_graph(cls, request_id: str, graph_bytes: bytes, **extra: Any) -> Self:
        return cls(request_id=request_id, wav_bytes=graph_bytes, **extra)


__all__ = ["IntentGraphRequest", "IntentGraph", "Field"]

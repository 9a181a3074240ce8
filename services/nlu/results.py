"""Recognition results and their two wire forms: the Rhasspy intent dict and the Hermes NluIntent payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any


@dataclass
class Entity:
    entity: str
    value: Any = ""
    raw_value: str = ""
    source: str = ""
    start: int = 0
    end: int = 0
    raw_start: int = 0
    raw_end: int = 0
    tokens: list[Any] = field(default_factory=list)
    raw_tokens: list[str] = field(default_factory=list)

    @property
    def value_dict(self) -> dict[str, Any]:
        """Hermes slot value: {"kind": ..., "value": ...}; a dict value passes through unchanged."""
        v = self.value
        if isinstance(v, dict):
            return v
        if isinstance(v, (bool, int, float)):
            kind = "Number"
        elif isinstance(v, datetime):
            kind = "Date"  # Rhasspy checks date first, so a datetime is reported as Date
        elif isinstance(v, date):
            kind = "Date"
        elif isinstance(v, time):
            kind = "Time"
        elif isinstance(v, timedelta):
            kind = "Duration"
        else:
            kind = "Unknown"
        return {"kind": kind, "value": _jsonable(v)}

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "value": _jsonable(self.value), "raw_value": self.raw_value,
                "source": self.source, "start": self.start, "end": self.end, "raw_start": self.raw_start,
                "raw_end": self.raw_end, "tokens": [_jsonable(t) for t in self.tokens],
                "raw_tokens": list(self.raw_tokens)}


@dataclass
class Recognition:
    intent: str
    confidence: float = 1.0
    entities: list[Entity] = field(default_factory=list)
    text: str = ""
    raw_text: str = ""
    tokens: list[Any] = field(default_factory=list)
    raw_tokens: list[str] = field(default_factory=list)
    recognize_seconds: float = 0.0
    cost: float = 0.0

    @property
    def slots(self) -> dict[str, Any]:
        return {e.entity: e.value for e in self.entities}

    def to_rhasspy_dict(self, raw_input: str | None = None) -> dict[str, Any]:
        """The JSON of Rhasspy's /api/text-to-intent (rhasspy-http-api.md section 3a)."""
        return {
            "intent": {"name": self.intent, "confidence": self.confidence},
            "entities": [dict(e.to_dict(), value_details=_jsonable(e.value_dict)) for e in self.entities],
            "slots": {e.entity: _jsonable(e.value) for e in self.entities},
            "text": self.text,
            "raw_text": self.raw_text if raw_input is None else raw_input,
            "tokens": [_jsonable(t) for t in self.tokens],
            "raw_tokens": list(self.raw_tokens),
            "recognize_seconds": self.recognize_seconds,
        }

    def hermes_slots(self) -> list[dict[str, Any]]:
        return [{"entity": e.source or e.entity, "value": _jsonable(e.value_dict), "slotName": e.entity,
                 "rawValue": e.raw_value, "confidence": 1.0,
                 "range": {"start": e.start, "end": e.end, "rawStart": e.raw_start, "rawEnd": e.raw_end}}
                for e in self.entities]

    def hermes_asr_tokens(self) -> list[list[dict[str, Any]]]:
        tokens, pos = [], 0
        for word in self.text.split():
            tokens.append({"value": word, "confidence": 1.0, "rangeStart": pos, "rangeEnd": pos + len(word),
                           "time": None})
            pos += len(word) + 1
        return [tokens]


def not_recognized_dict(text: str) -> dict[str, Any]:
    """Rhasspy's intent JSON for a sentence that matched nothing."""
    return {"intent": {"name": "", "confidence": 0.0}, "entities": [], "slots": {}, "text": text,
            "raw_text": text, "tokens": text.split(), "raw_tokens": text.split()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value

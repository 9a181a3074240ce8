"""Intent recognition messages, including the main event ``hermes/intent/<intentName>``."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator, model_validator

from .asr import AsrToken
from .base import HermesMessage, HermesModel
from .common import DEFAULT_SITE, TrainMessage, TrainSuccessMessage


class NluQuery(HermesMessage):
    TOPIC = "hermes/nlu/query"
    input: str
    site_id: str = DEFAULT_SITE
    id: str | None = None
    intent_filter: list[str] | None = None
    session_id: str | None = None
    wakeword_id: str | None = None
    lang: str | None = None
    custom_data: str | None = None
    asr_confidence: float | None = None
    custom_entities: dict[str, Any] | None = None


class Intent(HermesModel):
    intent_name: str
    confidence_score: float


class SlotRange(HermesModel):
    start: int
    end: int
    raw_start: int | None = None
    raw_end: int | None = None


class Slot(HermesModel):
    """One recognised slot. ``value`` is ``{"kind": ..., "value": ...}``; slotName and rawValue default from it."""

    entity: str
    value: dict[str, Any]
    slot_name: str = ""
    raw_value: str = ""
    confidence: float = 0.0
    range: SlotRange | None = None

    @field_validator("value")
    @classmethod
    def _value_has_value(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "value" not in value:
            raise ValueError("slot value must be an object with a 'value' key")
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_names(cls, data: Any) -> Any:
        """Absent or null slotName/rawValue default to entity/value.value, as in rhasspy-hermes; "" is kept."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("slotName", data.get("slot_name")) is None:
            data.pop("slot_name", None)
            data["slotName"] = data.get("entity")
        raw = data.get("rawValue", data.get("raw_value"))
        if raw is None:
            value = data.get("value")
            raw = value.get("value") if isinstance(value, dict) else None
            raw = "" if raw is None else raw
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)  # rhasspy-hermes copies a numeric value as is; rawValue is text here
        data.pop("raw_value", None)
        data["rawValue"] = raw
        return data


class NluIntentParsed(HermesMessage):
    TOPIC = "hermes/nlu/intentParsed"
    input: str
    intent: Intent
    site_id: str = DEFAULT_SITE
    id: str | None = None
    slots: list[Slot] | None = None
    session_id: str | None = None


class NluIntent(HermesMessage):
    """The recognised intent; the topic suffix is the intent name."""

    TOPIC = "hermes/intent/{intent_name}"
    MULTI_LEVEL: ClassVar[frozenset[str]] = frozenset({"intent_name"})

    input: str
    intent: Intent
    site_id: str = DEFAULT_SITE
    id: str | None = None
    slots: list[Slot] | None = None
    session_id: str | None = None
    custom_data: str | None = None
    asr_tokens: list[list[AsrToken]] | None = None
    asr_confidence: float | None = None
    raw_input: str | None = None
    wakeword_id: str | None = None
    lang: str | None = None

    @property
    def intent_name(self) -> str:
        return self.intent.intent_name


class NluIntentNotRecognized(HermesMessage):
    TOPIC = "hermes/nlu/intentNotRecognized"
    input: str
    site_id: str = DEFAULT_SITE
    id: str | None = None
    custom_data: str | None = None
    session_id: str | None = None


class NluTrain(TrainMessage):
    TOPIC = "rhasspy/nlu/{site_id}/train"


class NluTrainSuccess(TrainSuccessMessage):
    TOPIC = "rhasspy/nlu/{site_id}/trainSuccess"


class NluPartialQuery(HermesMessage):
    """Snips slot filling (not used by Rhasspy)."""

    TOPIC = "hermes/nlu/partialQuery"
    input: str
    intent_name: str
    slot_name: str
    id: str | None = None
    session_id: str | None = None


class NluSlotParsed(HermesMessage):
    """Snips slot filling answer (not used by Rhasspy)."""

    TOPIC = "hermes/nlu/slotParsed"
    input: str
    intent_name: str
    id: str | None = None
    slot: Slot | None = None
    session_id: str | None = None

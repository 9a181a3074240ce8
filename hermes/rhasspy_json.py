"""Rhasspy's HTTP/websocket intent JSON (rhasspy-http-api.md §3a), built from Hermes NLU messages.

One converter for the bridge, the intent handlers and the websockets, so the flattening rules (slotName as the
entity, 0/1 offsets for slots without a range, last slot wins in ``slots``) live in one place.
"""

from __future__ import annotations

from typing import Any

from .nlu import NluIntent, NluIntentNotRecognized, Slot


def entity_dict(slot: Slot) -> dict[str, Any]:
    start, end = (slot.range.start, slot.range.end) if slot.range else (0, 1)
    raw_start = slot.range.raw_start if slot.range and slot.range.raw_start is not None else start
    raw_end = slot.range.raw_end if slot.range and slot.range.raw_end is not None else end
    return {
        "entity": slot.slot_name or slot.entity,
        "value": slot.value.get("value"),
        "value_details": slot.value,
        "raw_value": slot.raw_value,
        "start": start,
        "end": end,
        "raw_start": raw_start,
        "raw_end": raw_end,
    }


def intent_to_rhasspy(intent: NluIntent, *, raw_text: str | None = None) -> dict[str, Any]:
    """The Rhasspy intent dict; ``raw_text`` overrides rawInput as the HTTP endpoints do with the posted text."""
    entities = [entity_dict(slot) for slot in intent.slots or []]
    raw = intent.raw_input or intent.input
    return {
        "intent": {"name": intent.intent.intent_name, "confidence": float(intent.intent.confidence_score)},
        "entities": entities,
        "slots": {entity["entity"]: entity["value"] for entity in entities},
        "text": intent.input,
        "raw_text": raw_text if raw_text is not None else (intent.raw_input or ""),
        "tokens": intent.input.split(),
        "raw_tokens": raw.split(),
        "wakeword_id": intent.wakeword_id,
    }


def not_recognized_to_rhasspy(message: NluIntentNotRecognized | str) -> dict[str, Any]:
    text = message if isinstance(message, str) else message.input
    return {
        "text": text,
        "raw_text": text,
        "tokens": text.split(),
        "raw_tokens": text.split(),
        "intent": {"name": "", "confidence": 0.0},
        "entities": [],
        "slots": {},
    }


def websocket_intent(intent: NluIntent) -> dict[str, Any]:
    """The ``/api/events/intent`` frame: the Rhasspy dict plus exactly siteId, sessionId, customData, wakewordId, lang."""
    frame = intent_to_rhasspy(intent)
    frame.update(
        {
            "siteId": intent.site_id,
            "sessionId": intent.session_id,
            "customData": intent.custom_data,
            "wakewordId": intent.wakeword_id,
            "lang": intent.lang,
        }
    )
    return frame

"""The base of every Hermes message: camelCase JSON on the wire, and a topic template owned by the class.

A class declares ``TOPIC`` once, e.g. ``hermes/audioServer/{site_id}/playBytes/{request_id}``. Formatting a
topic, the MQTT subscribe filter and parsing a received topic are all derived from that one string, and the
placeholders name attributes of the message itself, so a topic can never disagree with its payload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from .mqtt_text import mqtt_text_problem
from .site_ids import check_session_id, check_site_id

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class HermesProtocolError(ValueError):
    """A message that cannot be turned into, or out of, a Hermes MQTT message."""


class UnknownTopicError(HermesProtocolError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"unknown topic {topic!r}: no Hermes message is published there")
        self.topic = topic


class MessageParseError(HermesProtocolError):
    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"malformed payload on {topic!r}: {reason}")
        self.topic = topic
        self.reason = reason


def describe_validation_error(err: ValidationError) -> str:
    """One line per problem, naming the JSON key as it appears on the wire."""
    parts = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "payload"
        parts.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


class HermesModel(BaseModel):
    """Shared pydantic configuration: camelCase aliases, snake_case also accepted, unknown keys ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        use_enum_values=True,
        validate_assignment=False,
        validate_default=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as it goes on the wire: camelCase, every field present, nulls included."""
        return self.model_dump(mode="json", by_alias=True)


def without_unset(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Hermesh's extension keys (a class's ``EXTENSION_KEYS``) go on the wire only when set, so a message without
    them stays byte-identical to rhasspy-hermes' (which ignores them when it parses)."""
    for key in keys:
        if data.get(key) is None:
            data.pop(key, None)
    return data


def topic_field(**kwargs: Any) -> Any:
    """A field that lives only in the topic (e.g. ``wakewordId`` of hotword/detected), never in the JSON."""
    return Field(exclude=True, **kwargs)


class HermesMessage(HermesModel):
    """A message with its own topic. Subclasses set ``TOPIC`` and, for binary payloads, ``BINARY``."""

    TOPIC: ClassVar[str]
    BINARY: ClassVar[bool] = False
    # Placeholders that may span several topic levels (only intent names, as in Rhasspy: ``hermes/intent/(.+)``).
    MULTI_LEVEL: ClassVar[frozenset[str]] = frozenset()

    @field_validator("site_id", check_fields=False)
    @classmethod
    def _site_id_is_a_topic_level(cls, value: Any) -> Any:
        """Every message's siteId, from the payload or the topic, obeys the one site id rule: a received
        message with 'a/#' or a 10 kB site id is refused when parsed, and none can be built to be published."""
        return check_site_id(value) if isinstance(value, str) else value

    @field_validator("session_id", check_fields=False)
    @classmethod
    def _session_id_is_a_topic_level(cls, value: Any) -> Any:
        """A sessionId becomes a topic level of other messages (audioCaptured): refused here, not when a
        service later fails to publish the reply."""
        return check_session_id(value) if isinstance(value, str) and value else value

    # ---- topic: one template, three uses ---------------------------------------------------------------
    @classmethod
    def topic_params(cls) -> list[str]:
        return _PLACEHOLDER.findall(cls.TOPIC)

    @classmethod
    def has_site_in_topic(cls) -> bool:
        return "site_id" in cls.topic_params()

    @classmethod
    def format_topic(cls, **params: str) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            value = params.get(name)
            if value is None or value == "":
                raise HermesProtocolError(f"{cls.__name__}: topic parameter {name!r} is missing")
            value = str(value)
            if "/" in value and name not in cls.MULTI_LEVEL:
                raise HermesProtocolError(f"{cls.__name__}: {name} {value!r} must not contain '/'")
            if any(c in value for c in "+#"):
                raise HermesProtocolError(f"{cls.__name__}: {name} {value!r} must not contain MQTT wildcards")
            problem = mqtt_text_problem(value)
            if problem:  # the broker would drop our connection for it
                raise HermesProtocolError(f"{cls.__name__}: {name} {value[:40]!r} must not contain a {problem}")
            return value

        return _PLACEHOLDER.sub(fill, cls.TOPIC)

    def topic(self) -> str:
        """The concrete topic of this message; its parameters come from the message's own attributes."""
        return self.format_topic(**{name: getattr(self, name) for name in self.topic_params()})

    @classmethod
    def subscribe_filter(cls, **params: str | None) -> str:
        """MQTT filter: given parameters are fixed, the others become ``+`` (``#`` for multi-level ones)."""

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            value = params.get(name)
            if value:
                return str(value)
            return "#" if name in cls.MULTI_LEVEL else "+"

        return _PLACEHOLDER.sub(fill, cls.TOPIC)

    @classmethod
    def _topic_regex(cls) -> re.Pattern[str]:
        return _topic_regex(cls.TOPIC, cls.MULTI_LEVEL)

    @classmethod
    def parse_topic(cls, topic: str) -> dict[str, str] | None:
        """The topic parameters if ``topic`` belongs to this class, else None."""
        match = cls._topic_regex().fullmatch(topic)
        return match.groupdict() if match else None

    @classmethod
    def is_topic(cls, topic: str) -> bool:
        return cls.parse_topic(topic) is not None

    # ---- payload ---------------------------------------------------------------------------------------
    def payload(self) -> bytes:
        return json.dumps(self.to_wire(), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_payload(cls, payload: bytes | str, topic_params: Mapping[str, str] | None = None) -> Self:
        """Build the message from a JSON payload; parameters from the topic fill topic-only fields."""
        params = _checked_topic_params(cls, topic_params)
        topic = cls.format_topic(**params) if params else cls.TOPIC
        try:
            data = json.loads(payload) if payload not in (b"", "") else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise MessageParseError(topic, f"not JSON ({err})") from err
        except RecursionError as err:  # thousands of nested brackets: hostile or broken, never a message
            raise MessageParseError(topic, "not JSON (nested too deeply)") from err
        if not isinstance(data, dict):
            raise MessageParseError(topic, f"expected a JSON object, got {type(data).__name__}")
        # Topic parameters that are real attributes (not derived properties) come from the topic.
        for name, value in params.items():
            if name in cls.model_fields:
                field = cls.model_fields[name]
                if field.exclude:  # topic-only: the topic wins over a stray payload key (Snips playFinished.siteId)
                    if field.alias:
                        data.pop(field.alias, None)
                    data[name] = value
                elif field.alias not in data and name not in data:
                    data[name] = value
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise MessageParseError(topic, describe_validation_error(err)) from err

    @classmethod
    def from_mqtt(cls, topic: str, payload: bytes | str) -> Self:
        params = cls.parse_topic(topic)
        if params is None:
            raise HermesProtocolError(f"{topic!r} is not a {cls.__name__} topic ({cls.TOPIC})")
        return cls.from_payload(payload, params)

    # ---- helpers the runtime relies on -----------------------------------------------------------------
    def get_site_id(self) -> str | None:
        return getattr(self, "site_id", None)

    def get_session_id(self) -> str | None:
        return getattr(self, "session_id", None)


class BinaryMessage(HermesMessage):
    """A message whose payload is raw bytes (a complete WAV file); its fields all come from the topic."""

    BINARY: ClassVar[bool] = True
    wav_bytes: bytes = topic_field(default=b"", repr=False)

    def payload(self) -> bytes:
        return self.wav_bytes

    @classmethod
    def from_payload(cls, payload: bytes | str, topic_params: Mapping[str, str] | None = None) -> Self:
        data: dict[str, Any] = _checked_topic_params(cls, topic_params)
        data["wav_bytes"] = payload.encode() if isinstance(payload, str) else bytes(payload)
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise MessageParseError(cls.TOPIC, describe_validation_error(err)) from err


def _checked_topic_params(cls: type[HermesMessage], params: Mapping[str, str] | None) -> dict[str, Any]:
    """Topic parameters of a received message; one the broker could never carry in a topic we publish is a
    MessageParseError here, so whatever parses can be published again."""
    for name, value in (params or {}).items():
        problem = mqtt_text_problem(str(value))
        if problem:
            raise MessageParseError(cls.TOPIC, f"{name} {str(value)[:40]!r} contains a {problem}")
    return dict(params or {})


@cache
def _topic_regex(template: str, multi_level: frozenset[str]) -> re.Pattern[str]:
    pattern = ""
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        pattern += re.escape(template[last : match.start()])
        name = match.group(1)
        # MQTT wildcards never occur in a published topic (and format_topic refuses them), so a string with
        # them is a subscribe filter, not a topic of this class.
        pattern += f"(?P<{name}>[^+#]+)" if name in multi_level else f"(?P<{name}>[^/+#]+)"
        last = match.end()
    pattern += re.escape(template[last:])
    return re.compile(pattern)

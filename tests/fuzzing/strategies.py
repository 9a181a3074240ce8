"""Hypothesis strategies for what a client can send: Hermes payloads per message class, Wyoming frames.

Shared by the short CI runs in this folder and the long run in ``bench/fuzz.py``. Hermes payloads are drawn
from each message class's own JSON schema (so most are valid messages with odd values, which reach the
handlers), mixed with broken variants (wrong types, unknown keys, bad site ids, not JSON at all).
"""

from __future__ import annotations

import json
import struct
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from hermes.base import BinaryMessage, HermesMessage
from hermes.site_ids import SITE_ID_MAX_CHARS

# Site ids that must be refused: topic levels, wildcards, too long, control characters, empty.
BAD_SITE_IDS = ["a/b", "+", "#", "kitchen/#", "x" * (SITE_ID_MAX_CHARS + 1), "tab\there", ""]
# Site ids a topic level can carry but the site id rule refuses (a topic cannot hold '/', '+' or '#').
BAD_TOPIC_SITE_IDS = ["x" * (SITE_ID_MAX_CHARS + 1), "s" * 1000]

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_NAME = st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=12)
_SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | _TEXT
JSON_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(_TEXT, inner, max_size=4), max_leaves=12)


def schema_values(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that satisfy a pydantic JSON schema (the subset pydantic emits: $ref, anyOf, const, enum,
    objects, arrays, scalars with bounds); unknown shapes fall back to any JSON value."""
    if "$ref" in schema:
        return schema_values(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, depth)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of([schema_values(s, defs, depth) for s in schema.get("anyOf", schema.get("oneOf"))])
    kind = schema.get("type")
    if depth > 4:
        return _SCALARS
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        extra = schema.get("additionalProperties")
        fixed = {k: schema_values(v, defs, depth + 1) for k, v in props.items() if k in required}
        optional = {k: schema_values(v, defs, depth + 1) for k, v in props.items() if k not in required}
        base = st.fixed_dictionaries(fixed, optional=optional)
        if isinstance(extra, dict):
            more = st.dictionaries(_NAME, schema_values(extra, defs, depth + 1), max_size=3)
            return st.tuples(base, more).map(lambda pair: {**pair[1], **pair[0]})
        return base
    if kind == "array":
        return st.lists(schema_values(schema.get("items", {}), defs, depth + 1), max_size=4)
    if kind == "string":
        return _TEXT
    if kind == "integer":
        return st.integers(int(schema.get("minimum", -(2**31))), int(schema.get("maximum", 2**31)))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return JSON_VALUES


def valid_payloads(cls: type[HermesMessage]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects shaped like ``cls`` on the wire (camelCase keys), site ids kept valid."""
    schema = cls.model_json_schema(by_alias=True)
    strategy = schema_values(schema, schema.get("$defs", {}))
    if "siteId" in schema.get("properties", {}):
        sites = st.sampled_from(["fuzz", "fuzz-2", "default"])
        strategy = st.tuples(strategy, sites).map(lambda t: {**t[0], "siteId": t[1]})
    return strategy


def _wav(data: st.DrawFn) -> bytes:
    """A WAV header with drawn (often absurd) fields and a short body."""
    channels = data(st.sampled_from([0, 1, 2, 7, 65535]))
    rate = data(st.sampled_from([0, 1, 8000, 16000, 44100, 2**31 - 1]))
    width = data(st.sampled_from([0, 1, 2, 3, 4, 9]))
    body = data(st.binary(max_size=600))
    declared = data(st.sampled_from([len(body), 0, 2**31, len(body) + 7]))
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * width & 0xFFFFFFFF, channels * width & 0xFFFF,
                      width * 8 & 0xFFFF)
    return b"RIFF" + struct.pack("<I", 36 + len(body)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" \
        + struct.pack("<I", declared & 0xFFFFFFFF) + body


WAV_BYTES = st.composite(lambda draw: _wav(draw))()


def payloads(cls: type[HermesMessage]) -> st.SearchStrategy[bytes]:
    """What may arrive on ``cls``'s topic: mostly valid messages with odd values, then broken variants."""
    if issubclass(cls, BinaryMessage):
        return st.one_of(WAV_BYTES, st.binary(max_size=300))
    valid = valid_payloads(cls)
    broken = st.one_of(
        st.tuples(valid, _TEXT, JSON_VALUES).map(lambda t: {**t[0], t[1]: t[2]}),  # a stray key
        st.tuples(valid, JSON_VALUES).map(lambda t: {k: t[1] for k in t[0]} or {"x": t[1]}),  # wrong types
        st.tuples(valid, st.sampled_from(BAD_SITE_IDS)).map(lambda t: {**t[0], "siteId": t[1]}),
        JSON_VALUES,
    )
    as_json = st.one_of(valid, valid, valid, broken).map(lambda d: json.dumps(d).encode())
    return st.one_of(as_json, as_json, as_json, st.binary(max_size=200))


def topic_for(cls: type[HermesMessage]) -> st.SearchStrategy[str]:
    """A concrete topic of ``cls``: parameters drawn (site ids sometimes over-long)."""
    names = cls.topic_params()
    values = {name: (st.sampled_from(["fuzz", *BAD_TOPIC_SITE_IDS]) if name == "site_id" else _NAME)
              for name in names}
    return st.fixed_dictionaries(values).map(lambda params: cls.format_topic(**params))


def draw(strategy: st.SearchStrategy[Any], count: int, seed: int | None = None) -> list[Any]:
    """``count`` examples of ``strategy``: the same ones every run unless ``seed`` is given (no database).
    The fuzz runs collect cases first and then send them to a real service, because Hypothesis's own test
    loop (and its shrinking) cannot drive an asyncio mesh; what was sent is reported instead."""
    cases: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=seed is None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(strategy)
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        (hypothesis_seed(seed)(collect) if seed is not None else collect)()
    except Unsatisfiable:  # e.g. no way to break the schema of an operation without parameters
        pass
    return cases


# ---- Wyoming ----------------------------------------------------------------------------------------------
WYOMING_TYPES = ["describe", "audio-start", "audio-chunk", "audio-stop", "transcribe", "synthesize",
                 "synthesize-start", "synthesize-chunk", "synthesize-stop", "detect", "recognize", "handled",
                 "not-handled", "intent", "not-recognized", "ping", "pong", "run-pipeline", "run-satellite",
                 "transcript", "info", "error", "nonsense", ""]


def _event_line(draw_: st.DrawFn) -> bytes:
    """One Wyoming frame: a JSON header line, maybe data and payload whose declared lengths may lie."""
    kind = draw_(st.sampled_from(WYOMING_TYPES))
    data = draw_(st.one_of(st.none(), st.dictionaries(_TEXT, JSON_VALUES, max_size=4),
                           st.just({"rate": 16000, "width": 2, "channels": 1}),
                           st.just({"rate": 0, "width": 0, "channels": 0}), st.just({"text": "what time is it"}),
                           JSON_VALUES))
    payload = draw_(st.binary(max_size=256))
    data_bytes = json.dumps(data).encode() if data is not None else b""
    header: dict[str, Any] = {"type": kind}
    if draw_(st.booleans()):
        header["data"] = data
    elif data_bytes:
        header["data_length"] = draw_(st.sampled_from([len(data_bytes), len(data_bytes) + 3, 0, -1]))
    if payload:
        header["payload_length"] = draw_(st.sampled_from([len(payload), len(payload) + 5, 0, -5, 2**40]))
    if draw_(st.booleans()):
        header["version"] = draw_(st.sampled_from(["1.5.2", 7, None]))
    line = json.dumps(header).encode() + b"\n"
    trailer = (data_bytes if "data_length" in header else b"") + (payload if "payload_length" in header else b"")
    return line + trailer


WYOMING_FRAME = st.composite(lambda draw_: _event_line(draw_))()
WYOMING_GARBAGE = st.one_of(
    st.binary(min_size=1, max_size=300),  # not JSON
    st.binary(max_size=100).map(lambda b: b + b"\n"),
    st.just(b"{" * 5000 + b"\n"),  # deep
    st.just(b'{"type": "' + b"x" * 200_000),  # a huge header with no end of line
    st.just(b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 99999}\n'),
)


def wyoming_sessions() -> st.SearchStrategy[tuple[list[bytes], str]]:
    """A client's whole conversation: frames, then how it leaves (close, half-close, or stay silent)."""
    frames = st.lists(st.one_of(WYOMING_FRAME, WYOMING_FRAME, WYOMING_FRAME, WYOMING_GARBAGE), min_size=1,
                      max_size=6)
    return st.tuples(frames, st.sampled_from(["close", "half-close", "abort", "linger"]))


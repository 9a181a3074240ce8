"""Run NLU behaviour cases (the format of ../shared/nlu_cases/README.md) against our engine."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compiler import compile_templates
from .converters import BUILTIN_CONVERTERS, Converter
from .errors import NluError
from .graph import CompileOptions
from .numbers import replace_numbers
from .recognizer import Recognizer
from .results import Recognition
from .slots import SlotSource


def _each(func):
    def convert(*values: Any, converter_args: list[str] | None = None) -> list[Any]:
        return [func(v, converter_args) for v in values]

    return convert


def _floatify(*values: Any, converter_args: list[str] | None = None) -> list[float]:
    a, b = values
    return [float(f"{a}.{b}")]


# the custom converters the case format defines by name
CASE_CONVERTERS: dict[str, Converter] = {
    "square": _each(lambda v, _a: v * v),
    "cube": _each(lambda v, _a: v ** 3),
    "pow": _each(lambda v, a: v ** int(a[0])),
    "floatify": _floatify,
    "myconverter": _each(lambda v, _a: int(v) ** 2),
}


@dataclass
class CaseResult:
    case_id: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    actual: dict[str, Any] | None = None


def _transform(name: str | None):
    if name == "lower":
        return str.lower
    if name == "upper":
        return str.upper
    return None


def run_case(case: dict[str, Any], profile_dir: Path | None = None) -> CaseResult:
    """Train the case's templates in a scratch profile, recognise its input, compare with `expect`."""
    opts = case.get("options") or {}
    expect = case.get("expect") or {}
    with tempfile.TemporaryDirectory(prefix="hermesh-case-") as tmp:
        base = Path(tmp)
        for name, script in (case.get("slot_programs") or {}).items():
            path = base / "slot_programs" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(script, encoding="utf-8")
            path.chmod(0o755)
        if profile_dir is not None:
            # a profile supplies converters/ and slot_programs/ the case does not bring itself
            for sub in ("converters", "slot_programs", "slots"):
                src = Path(profile_dir) / sub
                if src.is_dir() and not (base / sub).exists():
                    os.symlink(src, base / sub)
        pipeline = opts.get("pipeline", "plain") == "rhasspy"
        converters = dict(BUILTIN_CONVERTERS)
        for name in opts.get("extra_converters") or []:
            converters[name] = CASE_CONVERTERS[name]
        if profile_dir is not None:
            from .converters import load_converter_programs

            converters.update(load_converter_programs(Path(profile_dir) / "converters"))
        options = CompileOptions(number_ranges=pipeline, replace_numbers=pipeline,
                                 casing=opts.get("casing") if pipeline else None,
                                 word_transform=opts.get("word_transform"), language="en",
                                 known_converters=frozenset(converters))
        parse_filter = opts.get("parse_intent_filter")
        try:
            graph = compile_templates(
                [("sentences.ini", case["sentences_ini"])],
                SlotSource(base, slots=case.get("slots") or {}), options,
                intent_filter=(lambda n: n in parse_filter) if parse_filter is not None else None,
                sentence_transform=_transform(opts.get("sentence_transform")))
            recognizer = Recognizer(graph, converters)
            tokens = case["input"].split()
            if opts.get("replace_numbers_in_input"):
                tokens = replace_numbers(tokens, "en")
            found = recognizer.recognize(tokens, fuzzy=opts.get("fuzzy", True), stop_words=opts.get("stop_words"),
                                         intent_filter=opts.get("intent_filter"))
        except NluError as err:
            return CaseResult(case["id"], False, [f"training or recognition failed: {err}"])
    return compare(case["id"], expect, found)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def compare(case_id: str, expect: dict[str, Any], found: list[Recognition]) -> CaseResult:
    problems: list[str] = []
    first = found[0] if found else None
    actual: dict[str, Any] = {"intent": first.intent if first else None}
    if first:
        actual.update(slots=first.slots, text=first.text, raw_text=first.raw_text, confidence=first.confidence,
                      tokens=first.tokens, intents=sorted(r.intent for r in found),
                      entities=[e.to_dict() for e in first.entities])
    if expect.get("intent") is None:
        if first is not None:
            problems.append(f"intent: expected no recognition, got {first.intent}")
        return CaseResult(case_id, not problems, problems, actual)
    if first is None:
        return CaseResult(case_id, False, [f"intent: expected {expect['intent']}, got no recognition"], actual)
    if first.intent != expect["intent"]:
        problems.append(f"intent: expected {expect['intent']}, got {first.intent}")
    if "slots" in expect and not _same(first.slots, expect["slots"]):
        problems.append(f"slots: expected {expect['slots']!r}, got {first.slots!r}")
    for key in ("text", "raw_text"):
        if expect.get(key) is not None and getattr(first, key) != expect[key]:
            problems.append(f"{key}: expected {expect[key]!r}, got {getattr(first, key)!r}")
    if "confidence" in expect and abs(first.confidence - expect["confidence"]) > 1e-9:
        problems.append(f"confidence: expected {expect['confidence']}, got {first.confidence}")
    if "tokens" in expect and not _same(first.tokens, expect["tokens"]):
        problems.append(f"tokens: expected {expect['tokens']!r}, got {first.tokens!r}")
    if "intents" in expect and sorted(r.intent for r in found) != expect["intents"]:
        problems.append(f"intents: expected {expect['intents']}, got {sorted(r.intent for r in found)}")
    if "entities" in expect:
        got = [e.to_dict() for e in first.entities]
        if len(got) < len(expect["entities"]):
            problems.append(f"entities: expected {len(expect['entities'])}, got {len(got)}: {got}")
        for i, want in enumerate(expect["entities"][:len(got)]):
            for key, value in want.items():
                if not _same(got[i].get(key), value):
                    problems.append(f"entities[{i}].{key}: expected {value!r}, got {got[i].get(key)!r}")
    return CaseResult(case_id, not problems, problems, actual)


def run_cases(cases: list[dict[str, Any]], profile_dir: Path | None = None) -> list[CaseResult]:
    return [run_case(case, profile_dir) for case in cases]

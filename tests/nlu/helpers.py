"""Compile inline templates and recognise, the way the behaviour cases do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.nlu.cases import CASE_CONVERTERS
from services.nlu.compiler import compile_templates
from services.nlu.converters import BUILTIN_CONVERTERS, load_converter_programs
from services.nlu.graph import CompileOptions, IntentGraph
from services.nlu.recognizer import Recognizer
from services.nlu.results import Recognition
from services.nlu.slots import SlotSource


def compile_ini(ini: str | list[tuple[str, str]], slots: dict[str, list[str]] | None = None,
                profile: Path | None = None, pipeline: bool = False, casing: str | None = None,
                word_transform: str | None = None, sentence_transform=None, intent_filter=None) -> IntentGraph:
    files = [("sentences.ini", ini)] if isinstance(ini, str) else ini
    converters = {**BUILTIN_CONVERTERS, **CASE_CONVERTERS}
    if profile is not None:
        converters.update(load_converter_programs(profile / "converters"))
    options = CompileOptions(number_ranges=pipeline, replace_numbers=pipeline, casing=casing,
                             word_transform=word_transform, known_converters=frozenset(converters))
    return compile_templates(files, SlotSource(profile, slots=slots or {}), options,
                             intent_filter=intent_filter, sentence_transform=sentence_transform)


def recognize_all(ini: str | list[tuple[str, str]], text: str | list[str], slots: dict[str, list[str]] | None = None,
                  profile: Path | None = None, pipeline: bool = False, casing: str | None = None,
                  word_transform: str | None = None, fuzzy: bool = False, stop_words=None, intent_filter=None,
                  ranked: bool = False, **compile_kw: Any) -> list[Recognition]:
    graph = compile_ini(ini, slots, profile, pipeline, casing, word_transform, **compile_kw)
    converters = {**CASE_CONVERTERS}
    if profile is not None:
        converters.update(load_converter_programs(profile / "converters"))
    return Recognizer(graph, converters).recognize(text, fuzzy=fuzzy, stop_words=stop_words,
                                                   intent_filter=intent_filter, ranked=ranked)


def recognize(ini: str | list[tuple[str, str]], text: str | list[str], **kw: Any) -> Recognition | None:
    found = recognize_all(ini, text, **kw)
    return found[0] if found else None

"""From template texts to an `IntentGraph` (parse ini files, resolve rules and slots, compile)."""

from __future__ import annotations

from collections.abc import Callable

from .errors import TemplateError
from .graph import CompileOptions, GraphCompiler, IntentGraph
from .ini import parse_ini_texts
from .slots import SlotSource


def compile_templates(files: list[tuple[str, str]], slot_source: SlotSource | None = None,
                      options: CompileOptions | None = None,
                      intent_filter: Callable[[str], bool] | None = None,
                      sentence_transform: Callable[[str], str] | None = None) -> IntentGraph:
    """Compile (file name, sentences.ini text) pairs; raises TemplateError/SlotError naming file and line."""
    try:
        parsed = parse_ini_texts(files, intent_filter=intent_filter, sentence_transform=sentence_transform)
        compiler = GraphCompiler(parsed.intents, parsed.rules, slot_source or SlotSource(), options or CompileOptions())
        graph = compiler.compile()
    except RecursionError as err:
        # Groups are capped by the parser; what is left is a chain of thousands of rules or slots, each
        # referring to the next. Training must fail with a message, never take the service down.
        raise TemplateError("the templates nest too deeply (rules or slots referring to each other in a chain "
                            "of thousands)", files[0][0] if len(files) == 1 else None) from err
    graph.warnings = parsed.warnings
    return graph

"""From template texts to an `IntentGraph` (parse ini files, resolve rules and slots, compile)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .graph import CompileOptions, GraphCompiler, IntentGraph
from .ini import parse_ini_texts
from .slots import SlotSource


def compile_templates(files: list[tuple[str, str]], slot_source: SlotSource | None = None,
                      options: CompileOptions | None = None,
                      intent_filter: Callable[[str], bool] | None = None,
                      sentence_transform: Callable[[str], str] | None = None) -> IntentGraph:
    """Compile (file name, sentences.ini text) pairs; raises TemplateError/SlotError naming file and line."""
    parsed = parse_ini_texts(files, intent_filter=intent_filter, sentence_transform=sentence_transform)
    compiler = GraphCompiler(parsed.intents, parsed.rules, slot_source or SlotSource(), options or CompileOptions())
    graph = compiler.compile()
    graph.warnings = parsed.warnings
    return graph


def profile_template_files(profile_dir: Path) -> list[tuple[str, str]]:
    """sentences.ini first, then intents/**/*.ini in name order (Rhasspy joins them in this order)."""
    files: list[tuple[str, str]] = []
    main = profile_dir / "sentences.ini"
    if main.is_file():
        files.append((str(main), main.read_text(encoding="utf-8")))
    intents_dir = profile_dir / "intents"
    if intents_dir.is_dir():
        for path in sorted(intents_dir.rglob("*.ini")):
            files.append((str(path), path.read_text(encoding="utf-8")))
    return files

"""From template texts to an `IntentGraph` (parse ini files, resolve rules and slots, compile)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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


def read_template_text(path: Path, name: str | None = None) -> str:
    """A template or slot file's text; undecodable bytes or a folder in its place are a TemplateError naming
    the file (and the line of the first bad byte), so a broken file fails training instead of the service."""
    name = name or str(path)
    if path.is_dir():
        raise TemplateError("this is a folder, not a file: rename it (a folder must not be named like a "
                            "sentence file) or delete the files inside it", name)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise TemplateError(f"cannot read the file: {err.strerror or err}", name) from err
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise TemplateError(f"the file is not UTF-8 text (byte 0x{data[err.start]:02x})", name, line) from err


def profile_template_files(profile_dir: Path) -> list[tuple[str, str]]:
    """sentences.ini first, then intents/**/*.ini in name order (Rhasspy joins them in this order)."""
    files: list[tuple[str, str]] = []
    main = profile_dir / "sentences.ini"
    if main.exists():
        files.append((str(main), read_template_text(main)))
    intents_dir = profile_dir / "intents"
    if intents_dir.is_dir():
        for path in sorted(intents_dir.rglob("*.ini")):
            files.append((str(path), read_template_text(path)))
    return files

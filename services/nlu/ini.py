"""File level of sentences.ini: sections (intents), sentences, rules, comments, several files.

Follows what Rhasspy's configparser set-up does (sections merge, duplicate lines collapse, `[DEFAULT]`
lines are inherited by every intent, `name = body` defines a rule, full-line comments only, a line
starting with `[` is a section header unless escaped as `\\[`), but reports problems with file and line
instead of crashing. Deliberate fixes: `%` is an ordinary character in rule bodies, and an indented line
after a sentence is a sentence of its own (configparser crashes on both).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import TemplateError
from .expressions import Node, Where, parse_expression

_SECTION = re.compile(r"\[(?P<header>.+)\]")  # configparser's (permissive, greedy) section pattern


@dataclass(slots=True)
class TemplateLine:
    text: str
    where: Where


@dataclass
class IntentTemplates:
    name: str
    sentences: dict[str, TemplateLine] = field(default_factory=dict)  # text -> line (dedup, keeps order)
    rules: dict[str, TemplateLine] = field(default_factory=dict)  # rule name -> body


@dataclass
class ParsedTemplates:
    """Parsed sentences and rules of all intents, in file order."""

    intents: dict[str, list[tuple[Node, Where]]]
    rules: dict[tuple[str, str], tuple[Node, Where]]
    warnings: list[str]


class _Reader:
    def __init__(self, intent_filter: Callable[[str], bool] | None,
                 sentence_transform: Callable[[str], str] | None) -> None:
        self.sections: dict[str, IntentTemplates] = {}
        self.defaults = IntentTemplates("DEFAULT")
        self.current: IntentTemplates | None = None
        self.last_rule: tuple[IntentTemplates, str] | None = None
        self.key_indent = 0  # indentation of the last sentence/rule line
        self.intent_filter = intent_filter
        self.transform = sentence_transform
        self.warnings: list[str] = []

    def read(self, text: str, file: str) -> None:
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if not stripped:
                self.last_rule = None
                continue
            if stripped[0] in "#;":
                continue
            indent = len(raw) - len(raw.lstrip())
            if self.last_rule is not None and indent > self.key_indent:
                # configparser continuation: a line indented deeper than the rule extends its body
                section, name = self.last_rule
                line = section.rules[name]
                line.text = f"{line.text} {stripped}"
                continue
            match = _SECTION.match(stripped)
            if match:
                header = match.group("header")
                rest = stripped[match.end():].strip()
                if rest or "]" in header:
                    self.warnings.append(
                        f"{file}, line {number}: '{stripped}' starts with '[' and is read as the start of "
                        f"intent [{header}] (text after it is lost); write '\\{stripped}' if it is a "
                        "sentence beginning with an optional word")
                self.last_rule = None
                if header == "DEFAULT":
                    self.current = self.defaults
                else:
                    self.current = self.sections.setdefault(header, IntentTemplates(header))
                continue
            if self.current is None:
                raise TemplateError("sentence outside of an intent section; start the file with "
                                    "'[IntentName]'", file, number, indent + 1, raw)
            column = indent + 1
            self.key_indent = indent
            if "=" in stripped:
                name, body = stripped.split("=", 1)
                name = name.rstrip()
                if not name:
                    raise TemplateError("rule definition without a name before '='", file, number, column, raw)
                body_col = column + len(stripped) - len(body.lstrip())
                body = body.strip().replace("\\[", "[")
                if self.transform:
                    body = self.transform(body)
                self.current.rules[name] = TemplateLine(body, Where(file, number, body_col, raw))
                self.last_rule = (self.current, name)
                continue
            self.last_rule = None
            sentence = stripped.replace("\\[", "[")
            if self.transform:
                sentence = self.transform(sentence)
            self.current.sentences.setdefault(sentence, TemplateLine(sentence, Where(file, number, column, raw)))

    def result(self) -> ParsedTemplates:
        intents: dict[str, list[tuple[Node, Where]]] = {}
        rules: dict[tuple[str, str], tuple[Node, Where]] = {}
        for name, section in self.sections.items():
            if self.intent_filter is not None and not self.intent_filter(name):
                continue
            sentences = dict(section.sentences)
            for text, line in self.defaults.sentences.items():
                sentences.setdefault(text, line)
            section_rules = dict(self.defaults.rules)
            section_rules.update(section.rules)
            intents[name] = [(parse_expression(line.text, line.where), line.where) for line in sentences.values()]
            for rule_name, line in section_rules.items():
                rules[(name, rule_name)] = (parse_expression(line.text, line.where), line.where)
        return ParsedTemplates(intents, rules, self.warnings)


def parse_ini_texts(files: list[tuple[str, str]], intent_filter: Callable[[str], bool] | None = None,
                    sentence_transform: Callable[[str], str] | None = None) -> ParsedTemplates:
    """Parse (file name, text) pairs as Rhasspy does after joining them: sections continue across files."""
    reader = _Reader(intent_filter, sentence_transform)
    for file, text in files:
        reader.read(text, file)
        reader.last_rule = None
    return reader.result()

"""Rules of the code's shape (issue 15): topics live in hermes/ only, and no module imports the modules that
import it, not even from inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOPIC_PREFIXES = ("hermes/", "hermesh/")


def python_files(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (REPO / package).rglob("*.py"))


def string_literals(tree: ast.AST) -> list[ast.Constant]:
    """Every str constant except docstrings (a topic named in prose is documentation, not a subscription)."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [n for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_no_topic_literal_outside_hermes() -> None:
    """Every topic comes from a message class's TOPIC template (``topic()``, ``subscribe_filter()``)."""
    found = []
    for path in python_files("services", "bridge"):
        for node in string_literals(ast.parse(path.read_text())):
            if node.value.startswith(TOPIC_PREFIXES):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert not found, "topic literals outside hermes/:\n" + "\n".join(found)


def test_the_rule_sees_plain_and_formatted_strings() -> None:
    tree = ast.parse('"""hermes/doc is prose"""\nA = "hermes/x"\nB = f"hermesh/status/{s}/+"\n')
    assert [n.value for n in string_literals(tree) if n.value.startswith(TOPIC_PREFIXES)] == [
        "hermes/x", "hermesh/status/"]

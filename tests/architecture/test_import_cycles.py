"""No import cycle among the voice functions' modules, counting imports inside functions (they only hide a
cycle from the interpreter, not from the design): an interface module never imports the backends it lists."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hermes", "services", "bridge")


def module_names() -> dict[str, Path]:
    names: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of ours this one imports, anywhere in its code (module level, functions, try blocks, and
    ``if TYPE_CHECKING:`` blocks: an import for annotations only is still a dependency of the design)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # "from pkg import mod" imports pkg.mod when that is a module, else a name of pkg
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # "import a.b.c" of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    names = module_names()
    return {name: imports_of(name, path, set(names)) for name, path in names.items()}


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    # services/asr/service.py imports .training only inside methods
    assert "services.asr.training" in graph["services.asr.service"]
    assert "services.engines" in graph["services.asr.engine"]


def test_no_import_cycle_anywhere_not_even_for_annotations() -> None:
    """A lower module never imports the module that assembles it. The app and its routes see the bridge through
    bridge/context.py's BridgeContext, Wyoming connections and satellites their server through
    bridge/wyoming/context.py's WyomingContext, and flows their connection as a FlowConnection."""
    assert cycles(import_graph()) == []


def test_the_graph_sees_imports_made_for_annotations_only(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .service import BridgeService\n")
    assert imports_of("bridge.probe", probe, set(module_names())) == {"bridge.service"}


def test_interfaces_import_no_backend_and_wake_does_not_import_asr() -> None:
    graph = import_graph()
    for function in ("asr", "tts", "wake"):
        interface = f"services.{function}.engine"
        backends = {m for m in graph if m.startswith(f"services.{function}.") and m != interface}
        assert not graph[interface] & backends - {f"services.{function}.settings"}, graph[interface]
    assert not {m for m in graph if m.startswith("services.wake")
                for i in graph[m] if i.startswith("services.asr")}

"""Every flag that several ``hermesh`` commands take means the same everywhere (issue 15 §5: one set of CLI
flags). The help texts of --profile and the broker flags had drifted between the service commands, ``train`` /
``recognize`` / ``test-nlu`` and ``monitor``; now they all come from ``services/cli_options.py``."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import typer.main

from services.cli import app
from services.cli_options import COMMON_OPTIONS

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> dict[str, object]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


def test_a_shared_flag_has_one_meaning_across_every_command() -> None:
    shared = {f"--{name.replace('_', '-')}" for name in COMMON_OPTIONS}
    seen: dict[str, dict[tuple[object, ...], list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, command in _commands().items():
        for param in command.params:  # type: ignore[attr-defined]
            for flag in set(param.opts) & shared:
                seen[flag][(param.help, param.envvar, tuple(param.secondary_opts))].append(name)
    drifted = {flag: dict(meanings) for flag, meanings in seen.items() if len(meanings) > 1}
    assert not drifted, f"flags with more than one help text or env var: {drifted}"


def test_the_commands_that_read_the_broker_take_every_broker_flag() -> None:
    broker = {f"--{name.replace('_', '-')}" for name in COMMON_OPTIONS if name.startswith("mqtt_")} - {"--mqtt-tls"}
    commands = _commands()
    for name in ("asr", "nlu", "bridge", "up", "status", "monitor"):
        flags = {flag for param in commands[name].params for flag in param.opts}  # type: ignore[attr-defined]
        assert broker <= flags, f"hermesh {name} lacks {sorted(broker - flags)}"
    train_flags = {flag for param in commands["train"].params for flag in param.opts}  # type: ignore[attr-defined]
    assert "--profile" in train_flags


def test_no_command_module_defines_a_shared_flag_itself() -> None:
    shared = {f"--{name.replace('_', '-')}" for name in COMMON_OPTIONS}
    pattern = re.compile(r"typer\.Option\(\s*\"(--[a-z-]+)")
    offenders = []
    for path in sorted((ROOT / "services").rglob("*.py")) + sorted((ROOT / "bridge").rglob("*.py")):
        if path.name == "cli_options.py":
            continue
        for flag in pattern.findall(path.read_text(encoding="utf-8")):
            if flag in shared:
                offenders.append(f"{path.relative_to(ROOT)}: {flag}")
    assert not offenders, f"shared flags defined outside services/cli_options.py: {offenders}"

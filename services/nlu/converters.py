"""Value converters (`!int`, `!upper`, ... and executables in the profile's converters/ folder).

A converter gets the output values of its span as positional arguments (and `converter_args` when the
template wrote `!name,arg1,arg2`) and returns an iterable of values.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import ConverterError

Converter = Callable[..., Iterable[Any]]


def _bool(value: Any) -> bool:
    """False for 0 (also the text "0", which is what a substitution like zero:0 gives) or "false"."""
    return (value != 0) and (str(value).strip().lower() not in ("0", "false"))


def _object(*values: Any, converter_args: list[str] | None = None) -> list[dict]:
    return [{"value": values[0] if len(values) == 1 else " ".join(str(v) for v in values)}]


def _add_key(key: str) -> Converter:
    def convert(*values: Any, converter_args: list[str] | None = None) -> list[dict]:
        if not converter_args:
            raise ConverterError(f"converter '{key}' needs an argument, e.g. !{key},Number")
        out = []
        for v in values:
            rest = v if isinstance(v, dict) else {"value": v}
            out.append({key: converter_args[0], **rest})
        return out

    return convert


def _datetime(*values: Any, converter_args: list[str] | None = None) -> list[datetime]:
    return [datetime.strptime(" ".join(str(v) for v in values), *(converter_args or []))]


def _simple(func: Callable[[Any], Any]) -> Converter:
    def convert(*values: Any, converter_args: list[str] | None = None) -> list[Any]:
        return [func(v) for v in values]

    return convert


BUILTIN_CONVERTERS: dict[str, Converter] = {
    "int": _simple(lambda v: int(v)),
    "float": _simple(lambda v: float(v)),
    "bool": _simple(_bool),
    "lower": _simple(lambda v: str(v).lower()),
    "upper": _simple(lambda v: str(v).upper()),
    "object": _object,
    "kind": _add_key("kind"),
    "unit": _add_key("unit"),
    "datetime": _datetime,
}


def program_converter(name: str, path: Path, timeout: float = 10.0) -> Converter:
    """An executable converter: values as JSON on stdin (a list when several), one JSON value per stdout line."""

    def convert(*values: Any, converter_args: list[str] | None = None) -> list[Any]:
        payload = values[0] if len(values) == 1 else list(values)
        try:
            proc = subprocess.run([str(path), *(converter_args or [])], input=json.dumps(payload, default=str),
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except OSError as err:
            raise ConverterError(f"converter '{name}' ({path}) could not run: {err}") from err
        except subprocess.TimeoutExpired as err:
            raise ConverterError(f"converter '{name}' ({path}) did not finish within {timeout} s") from err
        if proc.returncode != 0:
            raise ConverterError(f"converter '{name}' ({path}) failed with exit code {proc.returncode}: "
                                 f"{proc.stderr.strip()[-300:]}")
        out = []
        for line in proc.stdout.splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ConverterError(f"converter '{name}' printed a line that is not JSON: {line!r}") from err
        return out

    return convert


def load_converter_programs(converters_dir: Path | None) -> dict[str, Converter]:
    """Executables under converters/ (sub-folders give names like `a/b`)."""
    found: dict[str, Converter] = {}
    if converters_dir is None or not converters_dir.is_dir():
        return found
    for path in sorted(converters_dir.rglob("*")):
        if path.is_file() and os.access(path, os.X_OK):
            name = path.relative_to(converters_dir).as_posix()
            found[name] = program_converter(name, path)
    return found

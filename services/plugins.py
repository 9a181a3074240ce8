"""Importing a class (or function) named by path: user engine classes in profiles, and the service catalog."""

from __future__ import annotations

import importlib
from typing import Any


class PluginError(ValueError):
    """A path that does not name an importable attribute; the message says which part failed."""


def import_object(path: str, what: str = "class", kind: str = "attribute") -> Any:
    """Import ``package.module.Name`` or ``package.module:Name``; errors name the path and what was expected."""
    module_name, colon, attribute = path.partition(":")
    if not colon:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise PluginError(f"{what} {path!r}: expected a path like my_pkg.my_module.MyClass")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise PluginError(f"{what} {path!r}: cannot import module {module_name!r} ({err})") from err
    try:
        return getattr(module, attribute)
    except AttributeError as err:
        raise PluginError(f"{what} {path!r}: module {module_name!r} has no {kind} {attribute!r}") from err


def import_class(path: str, what: str = "class") -> type:
    found = import_object(path, what, "class")
    if not isinstance(found, type):
        raise PluginError(f"{what} {path!r}: {found!r} is not a class")
    return found

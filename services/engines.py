"""What the engine families (asr, tts, wake) share: one error base, one construction config, one registry type.

An engine is named by a *spec*: a built-in name of its family (``"pocketsphinx"``, ``"espeak"``, ...) or a user's
class as ``"package.module:Class"`` (``package.module.Class`` works too). Every family loads a spec the same way
(``EngineRegistry.load``, reached through ``services.engine_loader.load_engine``): import the class, check it has the
family's interface, construct it with one ``EngineConfig``. This module imports no family, so a family's interface
module can import it without a cycle.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from services.config import ConfigError
from services.plugins import PluginError, import_class

LOG = logging.getLogger("hermesh.engines")
M = TypeVar("M", bound=BaseModel)


class EngineError(Exception):
    """An engine failure with a short machine-readable ``code`` and a ``message`` the user can act on.

    Raised as ``EngineError(code, message)``; a family's subclass may be raised with its message alone and then
    has its ``default_code``. The service runtime turns one that reaches it into the component's
    ``hermes/error/...`` message (``HermesService.report_error``), so an engine never publishes errors itself."""

    default_code: ClassVar[str] = "engine"

    def __init__(self, code: str, message: str | None = None) -> None:
        if message is None:
            code, message = self.default_code, code
        super().__init__(message)
        self.code = code
        self.message = message


class EngineConfigError(EngineError, ConfigError):
    """An engine that cannot be built as configured (bad spec, missing model, bad option): a setting to fix."""

    default_code = "engine-config"


@dataclass
class EngineConfig:
    """What every engine is constructed with: ``cls(config)``."""

    profile_dir: Path
    work_dir: Path  # where the engine may write trained artefacts (inside the profile's trained/ dir)
    options: dict[str, Any] = field(default_factory=dict)  # the service's ``engine_options`` (plus built-in ones)


def engine_settings(model: type[M], config: EngineConfig, what: str, error: Callable[[str], Exception]) -> M:
    """A built-in engine's typed settings from its options; a bad option is an ``error`` naming it."""
    try:
        return model.model_validate(config.options)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '-'}: {e['msg']}" for e in err.errors())
        raise error(f"{what}: engine options: {problems}") from err


@dataclass(frozen=True)
class EngineRegistry:
    """The engines of one voice function: built-in names, renamed specs, and the interface a class must have."""

    kind: str  # "asr", "tts", "wake": also the profile section that names the engine
    interface: type  # the family's ABC or Protocol (services/<kind>/engine.py), for the error messages
    methods: tuple[str, ...]  # what the class must define
    builtins: Mapping[str, str]  # name -> "package.module:Class", imported only when chosen
    error: Callable[[str], EngineError] = EngineConfigError  # what a bad spec raises: the family's error
    attributes: tuple[str, ...] = ()  # what the constructed engine must have (set in its __init__)
    renamed: Mapping[str, str] = field(default_factory=dict)  # old spec -> current spec (deprecated, warns)
    # Families whose user classes used to be built as ``cls(options: dict, profile_dir)``: still accepted, warned.
    legacy_constructor: bool = False

    def resolve(self, spec: str) -> str:
        """The ``package.module:Class`` path of a spec (a built-in name, a renamed spec, or a path)."""
        spec = spec.strip()
        renamed = self.renamed.get(spec) or self.renamed.get(spec.replace(":", "."))
        if renamed is not None:
            LOG.warning("%s engine %r is deprecated: use %r", self.kind, spec, renamed)
            spec = renamed
        target = self.builtins.get(spec, spec)
        if "." not in target and ":" not in target:
            raise self.error(
                f"{self.kind} engine {spec!r} is neither a built-in engine (use one of {', '.join(self.builtins)}) "
                f"nor a class path like my_pkg.my_module:MyEngine"
            )
        return target

    def engine_class(self, spec: str) -> type:
        """The class a spec names, checked for the family's interface; errors name the spec."""
        target = self.resolve(spec)
        try:
            cls = import_class(target, f"{self.kind} engine")
        except PluginError as err:  # a built-in's import can fail too (an optional package not installed)
            raise self.error(str(err) if target == spec else f"{self.kind} engine {spec!r}: {err}") from err
        missing = [m for m in self.methods if not callable(getattr(cls, m, None))]
        if missing:
            raise self.error(
                f"{self.kind} engine {spec!r}: class {cls.__name__} lacks method(s) {', '.join(missing)} "
                f"(the {self.interface.__name__} interface of {self.interface.__module__})"
            )
        return cls

    def load(self, spec: str, options: Mapping[str, Any], *, profile_dir: Path, work_dir: Path | None = None) -> Any:
        """Import, check and construct the engine a spec names."""
        config = EngineConfig(profile_dir, work_dir or _default_work_dir(profile_dir, self.kind), dict(options))
        return self.create(spec, config)

    def create(self, spec: str, config: EngineConfig) -> Any:
        """Import, check and construct the engine a spec names, with a config made by the caller."""
        cls = self.engine_class(spec)
        options, profile_dir = config.options, config.profile_dir
        if self.legacy_constructor and _takes_two_arguments(cls):
            LOG.warning("%s engine %r takes (options, profile_dir): deprecated, take one EngineConfig "
                        "(services/engines.py)", self.kind, spec)
            engine = cls(dict(options), profile_dir)
        else:
            engine = cls(config)
        missing = [a for a in self.attributes if not hasattr(engine, a)]
        if missing:
            raise self.error(f"{self.kind} engine {spec!r}: {cls.__name__} objects lack {', '.join(missing)} "
                             f"(the {self.interface.__name__} interface of {self.interface.__module__})")
        return engine


def _default_work_dir(profile_dir: Path | None, kind: str) -> Path:
    return Path(profile_dir or ".") / "trained" / kind


def _takes_two_arguments(cls: type) -> bool:
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 and all(p.default is p.empty for p in positional[:2])

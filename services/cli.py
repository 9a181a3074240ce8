"""The ``hermesh`` command line: ``up``, ``status``, one command per service, and the extra tools.

Each flag is defined once (``services/cli_options.py``) and added to every command that takes it by
``with_options``, so the contract (names, help, defaults) cannot drift between commands.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from services import catalog
from services.cli_options import (
    BRIDGE_OPTIONS,
    COMMON_OPTIONS,
    SERVICE_OPTIONS,
    bridge_flags,
    common_flags,
    with_options,
)
from services.config import CommonSettings, ConfigError, load_common, load_section, parse_set_options
from services.profile import ensure_profile

app = typer.Typer(
    name="hermesh",
    help="Hermesh: an offline voice assistant made of Hermes MQTT services (Rhasspy 2.5 compatible).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

def load_settings(flags: dict[str, Any], create_profile: bool = True) -> CommonSettings:
    """Common settings from all layers; exits with a clear message when they are invalid."""
    try:
        common = load_common(flags.get("profile"), flags)
        if create_profile:
            ensure_profile(common.profile)
        return common
    except (ConfigError, OSError) as err:
        typer.echo(f"hermesh: {err}", err=True)
        raise typer.Exit(2) from err


def _service_command(name: str, class_path: str) -> None:
    groups = (COMMON_OPTIONS, SERVICE_OPTIONS) + ((BRIDGE_OPTIONS,) if name == "bridge" else ())

    @with_options(*groups)
    def command(options: dict[str, Any]) -> None:
        from services.runner import run_service_process

        common = load_settings(common_flags(options))
        try:
            overrides = parse_set_options(options.get("set_") or [])
        except ConfigError as err:
            typer.echo(f"hermesh: {err}", err=True)
            raise typer.Exit(2) from err
        overrides.update(bridge_flags(options))
        raise typer.Exit(run_service_process(name, class_path, common, overrides))

    app.command(name, help=f"Run the {name} service (one process) on the broker.")(command)


@app.command("up")
@with_options(COMMON_OPTIONS, BRIDGE_OPTIONS, {"instance": SERVICE_OPTIONS["instance"]})
def up(
    options: dict[str, Any],
    satellite: Annotated[bool, typer.Option("--satellite", help="Run only this room's services against a base's broker.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="Start only these services (repeatable).")] = None,
    without: Annotated[list[str] | None, typer.Option("--without", help="Do not start these services (repeatable).")] = None,
    replicas: Annotated[str | None, typer.Option(
        "--replicas", help="Workers per poolable service, e.g. asr=2,nlu=2,tts=2 (they share the requests through "
        "MQTT 5 shared subscriptions; profile.json: \"up\": {\"replicas\": {...}}).")] = None,
) -> None:
    """Run the whole mesh on this machine: the broker (unless one answers), every service, and the bridge."""
    from services.supervisor import UP_SECTION, Supervisor, UpSettings, parse_replicas

    flags = common_flags(options)
    if satellite and "instance" not in flags and flags.get("site_ids"):
        # A satellite's status topics carry its room's name: that is what its broker ACL allows it to write.
        flags["instance"] = flags["site_ids"][0]
    common = load_settings(flags)
    # The bridge's flags reach the bridge process through its environment (secrets stay off the command line).
    for name, value in bridge_flags(options).items():
        os.environ[f"HERMESH_BRIDGE__{name.upper()}"] = str(value)
    names = list(catalog.SERVICES)
    if satellite:
        names = [n for n in names if n in catalog.ROOM_SERVICES]
    if only:
        unknown = sorted(set(only) - set(catalog.SERVICES))
        if unknown:
            typer.echo(f"hermesh: unknown service(s) {', '.join(unknown)}; known: {', '.join(catalog.SERVICES)}", err=True)
            raise typer.Exit(2)
        names = [n for n in names if n in only]
    names = [n for n in names if n not in set(without or [])]
    try:
        up_settings = load_section(UpSettings, common, UP_SECTION, {"replicas": parse_replicas(replicas)} if replicas else None)
    except (ValueError, ConfigError) as err:
        typer.echo(f"hermesh: {err}", err=True)
        raise typer.Exit(2) from err
    raise typer.Exit(Supervisor(common, names, flags, start_broker=not satellite, replicas=up_settings.replicas).run())


@app.command("status")
@with_options(COMMON_OPTIONS, {"instance": SERVICE_OPTIONS["instance"]})
def status(
    options: dict[str, Any],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to collect status messages.")] = 1.0,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", help="Exit 3 unless this service is online (repeatable; a health check)."),
    ] = None,
) -> None:
    """List every service seen on the broker, online or offline (from the retained status topics)."""
    from services.status import print_status

    flags = common_flags({**options, "instance": None})
    common = load_settings(flags, create_profile=False)
    raise typer.Exit(print_status(common, as_json=as_json, wait=wait, require=check or [],
                                  instance=options.get("instance")))


@app.command("import-rhasspy")
def import_rhasspy(
    profile_dir: Annotated[Path, typer.Argument(
        help="A Rhasspy 2.5 profile folder (profile.json, sentences.ini, intents/, slots/, slot_programs/, "
             "converters/, custom_words.txt), e.g. ~/.config/rhasspy/profiles/en.", show_default=False,
        metavar="PROFILE_DIR")],
    to: Annotated[Path | None, typer.Option(
        "--to", envvar="HERMESH_PROFILE", show_default=False,
        help="Hermesh profile folder to create (default: $HERMESH_PROFILE or ~/.config/hermesh/profile).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an existing profile there (it is kept until the new one is complete).")] = False,
) -> None:
    """Convert a Rhasspy 2.5 profile into a Hermesh profile, and print how each Rhasspy setting carried over.

    Copied: sentences.ini, intents/, slots/, slot_programs/, converters/, custom words, stop_words.txt.
    Converted: MQTT broker, credentials and TLS; site ids and satellite site ids; ASR, NLU, wake and TTS choices;
    Home Assistant (URL, token, event or intent); command and remote handlers; intent webhooks;
    feedback sounds (files inside the Rhasspy profile are copied); dialogue timeouts.
    Engines Hermesh does not ship (porcupine, raven, deepspeech, ...) are named in the table.
    The profile is written atomically: nothing is written when anything fails, and an existing profile
    is only replaced with --force.
    """
    from services.config import default_profile_dir
    from services.rhasspy_import import RhasspyImportError, format_report, import_profile

    try:
        result = import_profile(profile_dir, to if to is not None else default_profile_dir(), force=force)
    except RhasspyImportError as err:
        typer.echo(f"hermesh: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(format_report(result))


def _register() -> None:
    for name, class_path in catalog.SERVICES.items():
        _service_command(name, class_path)
    from services.runner import load_class

    for path in catalog.COMMANDS:
        function = load_class(path)
        app.command(function.__name__.rstrip("_").replace("_", "-"))(function)


_register()


def main() -> None:
    try:
        app()
    except ConfigError as err:
        typer.echo(f"hermesh: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

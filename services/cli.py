"""The ``hermesh`` command line: ``up``, ``status``, one command per service, and the extra tools.

Each flag is defined once (``COMMON_OPTIONS``, ``BRIDGE_OPTIONS``) and added to every command that takes it by
``with_options``, so the contract (names, help, defaults) cannot drift between commands.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from services import catalog
from services.config import CommonSettings, ConfigError, load_common, load_section, parse_set_options
from services.profile import ensure_profile

app = typer.Typer(
    name="hermesh",
    help="Hermesh: an offline voice assistant made of Hermes MQTT services (Rhasspy 2.5 compatible).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMON_OPTIONS: dict[str, Any] = {
    "profile": Annotated[Path | None, typer.Option(
        "--profile", envvar="HERMESH_PROFILE", show_default=False,
        help="Profile directory (created from the default English profile on first run).")],
    "site_id": Annotated[list[str] | None, typer.Option(
        "--site-id", help="Site id served (repeatable); none = every site. The first is this machine's own.")],
    "mqtt_host": Annotated[str | None, typer.Option("--mqtt-host", help="Broker host (default 127.0.0.1).")],
    "mqtt_port": Annotated[int | None, typer.Option("--mqtt-port", help="Broker port (default 1883).")],
    "mqtt_username": Annotated[str | None, typer.Option("--mqtt-username", help="Broker user name.")],
    "mqtt_password": Annotated[str | None, typer.Option(
        "--mqtt-password", envvar="HERMESH_MQTT_PASSWORD", help="Broker password (better: the environment variable).")],
    "mqtt_tls": Annotated[bool | None, typer.Option("--mqtt-tls/--no-mqtt-tls", help="Connect to the broker with TLS.")],
    "mqtt_ca_file": Annotated[Path | None, typer.Option("--mqtt-ca-file", help="CA certificate of the broker's TLS.")],
    "mqtt_cert_file": Annotated[Path | None, typer.Option("--mqtt-cert-file", help="Client certificate (TLS).")],
    "mqtt_key_file": Annotated[Path | None, typer.Option("--mqtt-key-file", help="Client key (TLS).")],
    "http_host": Annotated[str | None, typer.Option("--http-host", help="HTTP API host (default 127.0.0.1).")],
    "http_port": Annotated[int | None, typer.Option("--http-port", help="HTTP API port (default 12101).")],
    "wyoming_port": Annotated[int | None, typer.Option("--wyoming-port", help="Wyoming server port (default 10300).")],
    "log_level": Annotated[str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO).")],
}

BRIDGE_OPTIONS: dict[str, Any] = {
    "auth_token": Annotated[str | None, typer.Option(
        "--auth-token", envvar="HERMESH_BRIDGE__AUTH_TOKEN",
        help="Require this token on the HTTP API and websockets (?token= or Authorization: Bearer).")],
    "jwt_secret": Annotated[str | None, typer.Option(
        "--jwt-secret", envvar="HERMESH_BRIDGE__JWT_SECRET",
        help="Accept HS256 JWTs signed with this secret (user.role admin, or user for its own site).")],
    "certfile": Annotated[Path | None, typer.Option("--certfile", help="TLS certificate: serve HTTPS and WSS.")],
    "keyfile": Annotated[Path | None, typer.Option("--keyfile", help="TLS private key.")],
    "url_root": Annotated[str | None, typer.Option(
        "--url-root", help="Serve every route, websocket, the API docs and the web UI under this path prefix, "
                           "e.g. /hermesh (bridge.url_root).")],
}

SERVICE_OPTIONS: dict[str, Any] = {
    "instance": Annotated[str | None, typer.Option(
        "--instance", help="Instance name in the status topic (default the host name).")],
    "pool": Annotated[str | None, typer.Option(
        "--pool", help="Join a worker pool of this name: requests are shared among its workers (MQTT 5 shared "
                       "subscriptions).")],
    "set_": Annotated[list[str] | None, typer.Option(
        "--set", help="Override one setting of this service: KEY=VALUE (JSON values), repeatable.")],
}


def with_options(*groups: dict[str, Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the options of ``groups`` to a typer command; the command receives them as ``options: dict``."""
    added = {name: annotation for group in groups for name, annotation in group.items()}

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        hints = typing.get_type_hints(function, include_extras=True)
        own = [p.replace(annotation=hints[p.name])
               for p in inspect.signature(function).parameters.values() if p.name != "options"]
        parameters = own + [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=annotation)
            for name, annotation in added.items()
        ]

        @functools.wraps(function)
        def command(**kwargs: Any) -> Any:
            options = {name: kwargs.pop(name, None) for name in added}
            return function(options=options, **kwargs)

        del command.__wrapped__  # typer must see the combined signature, not the original one
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {**{p.name: hints[p.name] for p in own}, **added}
        return command

    return decorate


def common_flags(options: dict[str, Any]) -> dict[str, Any]:
    """The CLI layer of the common settings (only flags actually given)."""
    mqtt = {
        "host": options.get("mqtt_host"), "port": options.get("mqtt_port"),
        "username": options.get("mqtt_username"), "password": options.get("mqtt_password"),
        "tls": options.get("mqtt_tls"), "ca_file": options.get("mqtt_ca_file"),
        "cert_file": options.get("mqtt_cert_file"), "key_file": options.get("mqtt_key_file"),
        "shared_group": options.get("pool"),
    }
    http = {"host": options.get("http_host"), "port": options.get("http_port"),
            "wyoming_port": options.get("wyoming_port")}
    site_ids = options.get("site_id")
    layer: dict[str, Any] = {
        "profile": options.get("profile"),
        "site_ids": list(site_ids) if site_ids else None,
        "log_level": options.get("log_level"),
        "instance": options.get("instance"),
        "mqtt": {k: v for k, v in mqtt.items() if v is not None},
        "http": {k: v for k, v in http.items() if v is not None},
    }
    return {k: v for k, v in layer.items() if v not in (None, {})}


def bridge_flags(options: dict[str, Any]) -> dict[str, Any]:
    return {name: options[name] for name in BRIDGE_OPTIONS if options.get(name) is not None}


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

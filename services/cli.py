"""The ``hermesh`` command line: ``up``, ``status``, one command per service, and the extra tools."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from services import catalog
from services.config import CommonSettings, ConfigError, load_common, parse_set_options
from services.profile import ensure_profile

app = typer.Typer(
    name="hermesh",
    help="Hermesh: an offline voice assistant made of Hermes MQTT services (Rhasspy 2.5 compatible).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# ---- the common flags, defined once ------------------------------------------------------------------------
ProfileOpt = Annotated[
    Path | None,
    typer.Option("--profile", help="Profile directory (created from the default English profile on first run).",
                 envvar="HERMESH_PROFILE", show_default=False),
]
SiteOpt = Annotated[
    list[str] | None,
    typer.Option("--site-id", help="Site id served (repeatable); none = every site. The first is this machine's own."),
]
MqttHostOpt = Annotated[str | None, typer.Option("--mqtt-host", help="Broker host (default 127.0.0.1).")]
MqttPortOpt = Annotated[int | None, typer.Option("--mqtt-port", help="Broker port (default 1883).")]
MqttUserOpt = Annotated[str | None, typer.Option("--mqtt-username", help="Broker user name.")]
MqttPassOpt = Annotated[str | None, typer.Option("--mqtt-password", help="Broker password.", envvar="HERMESH_MQTT_PASSWORD")]
MqttTlsOpt = Annotated[bool | None, typer.Option("--mqtt-tls/--no-mqtt-tls", help="Connect to the broker with TLS.")]
MqttCaOpt = Annotated[Path | None, typer.Option("--mqtt-ca-file", help="CA certificate for the broker's TLS.")]
MqttCertOpt = Annotated[Path | None, typer.Option("--mqtt-cert-file", help="Client certificate (TLS).")]
MqttKeyOpt = Annotated[Path | None, typer.Option("--mqtt-key-file", help="Client key (TLS).")]
HttpHostOpt = Annotated[str | None, typer.Option("--http-host", help="HTTP API host (default 127.0.0.1).")]
HttpPortOpt = Annotated[int | None, typer.Option("--http-port", help="HTTP API port (default 12101).")]
WyomingPortOpt = Annotated[int | None, typer.Option("--wyoming-port", help="Wyoming server port (default 10300).")]
LogLevelOpt = Annotated[str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO).")]
InstanceOpt = Annotated[str | None, typer.Option("--instance", help="Instance name in the status topic (default host name).")]
PoolOpt = Annotated[
    str | None,
    typer.Option("--pool", help="Join a worker pool of this name: requests are shared among its workers (MQTT 5 shared subscriptions)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one setting of this service: KEY=VALUE (JSON values), repeatable."),
]


def common_flags(
    profile: Path | None = None,
    site_id: list[str] | None = None,
    mqtt_host: str | None = None,
    mqtt_port: int | None = None,
    mqtt_username: str | None = None,
    mqtt_password: str | None = None,
    mqtt_tls: bool | None = None,
    mqtt_ca_file: Path | None = None,
    mqtt_cert_file: Path | None = None,
    mqtt_key_file: Path | None = None,
    http_host: str | None = None,
    http_port: int | None = None,
    wyoming_port: int | None = None,
    log_level: str | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    """The CLI layer of the settings (only flags actually given)."""
    mqtt = {
        "host": mqtt_host, "port": mqtt_port, "username": mqtt_username, "password": mqtt_password,
        "tls": mqtt_tls, "ca_file": mqtt_ca_file, "cert_file": mqtt_cert_file, "key_file": mqtt_key_file,
    }
    http = {"host": http_host, "port": http_port, "wyoming_port": wyoming_port}
    layer: dict[str, Any] = {
        "profile": profile,
        "site_ids": list(site_id) if site_id else None,
        "log_level": log_level,
        "instance": instance,
        "mqtt": {k: v for k, v in mqtt.items() if v is not None},
        "http": {k: v for k, v in http.items() if v is not None},
    }
    return {k: v for k, v in layer.items() if v not in (None, {})}


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
    def command(
        profile: ProfileOpt = None,
        site_id: SiteOpt = None,
        mqtt_host: MqttHostOpt = None,
        mqtt_port: MqttPortOpt = None,
        mqtt_username: MqttUserOpt = None,
        mqtt_password: MqttPassOpt = None,
        mqtt_tls: MqttTlsOpt = None,
        mqtt_ca_file: MqttCaOpt = None,
        mqtt_cert_file: MqttCertOpt = None,
        mqtt_key_file: MqttKeyOpt = None,
        http_host: HttpHostOpt = None,
        http_port: HttpPortOpt = None,
        wyoming_port: WyomingPortOpt = None,
        log_level: LogLevelOpt = None,
        instance: InstanceOpt = None,
        pool: PoolOpt = None,
        set_: SetOpt = None,
    ) -> None:
        from services.runner import run_service_process

        flags = common_flags(profile, site_id, mqtt_host, mqtt_port, mqtt_username, mqtt_password, mqtt_tls,
                             mqtt_ca_file, mqtt_cert_file, mqtt_key_file, http_host, http_port, wyoming_port,
                             log_level, instance)
        if pool:
            flags.setdefault("mqtt", {})["shared_group"] = pool
        common = load_settings(flags)
        try:
            overrides = parse_set_options(set_ or [])
        except ConfigError as err:
            typer.echo(f"hermesh: {err}", err=True)
            raise typer.Exit(2) from err
        raise typer.Exit(run_service_process(name, class_path, common, overrides))

    command.__doc__ = f"Run the {name} service (one process) on the broker."
    app.command(name, help=command.__doc__)(command)


@app.command("up")
def up(
    profile: ProfileOpt = None,
    site_id: SiteOpt = None,
    mqtt_host: MqttHostOpt = None,
    mqtt_port: MqttPortOpt = None,
    mqtt_username: MqttUserOpt = None,
    mqtt_password: MqttPassOpt = None,
    mqtt_tls: MqttTlsOpt = None,
    mqtt_ca_file: MqttCaOpt = None,
    mqtt_cert_file: MqttCertOpt = None,
    mqtt_key_file: MqttKeyOpt = None,
    http_host: HttpHostOpt = None,
    http_port: HttpPortOpt = None,
    wyoming_port: WyomingPortOpt = None,
    log_level: LogLevelOpt = None,
    satellite: Annotated[bool, typer.Option("--satellite", help="Run only this room's services against a base's broker.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="Start only these services (repeatable).")] = None,
    without: Annotated[list[str] | None, typer.Option("--without", help="Do not start these services (repeatable).")] = None,
) -> None:
    """Run the whole mesh on this machine: the broker (unless one answers), every service, and the bridge."""
    from services.supervisor import Supervisor

    flags = common_flags(profile, site_id, mqtt_host, mqtt_port, mqtt_username, mqtt_password, mqtt_tls,
                         mqtt_ca_file, mqtt_cert_file, mqtt_key_file, http_host, http_port, wyoming_port, log_level)
    common = load_settings(flags)
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
    raise typer.Exit(Supervisor(common, names, flags, start_broker=not satellite).run())


@app.command("status")
def status(
    profile: ProfileOpt = None,
    mqtt_host: MqttHostOpt = None,
    mqtt_port: MqttPortOpt = None,
    mqtt_username: MqttUserOpt = None,
    mqtt_password: MqttPassOpt = None,
    mqtt_tls: MqttTlsOpt = None,
    mqtt_ca_file: MqttCaOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to collect status messages.")] = 1.0,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", help="Exit 3 unless this service is online (repeatable; a health check)."),
    ] = None,
    instance: InstanceOpt = None,
) -> None:
    """List every service seen on the broker, online or offline (from the retained status topics)."""
    from services.status import print_status

    flags = common_flags(profile, None, mqtt_host, mqtt_port, mqtt_username, mqtt_password, mqtt_tls, mqtt_ca_file)
    common = load_settings(flags, create_profile=False)
    raise typer.Exit(print_status(common, as_json=as_json, wait=wait, require=check or [], instance=instance))


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

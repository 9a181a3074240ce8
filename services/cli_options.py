"""Every ``hermesh`` flag that more than one command takes, defined once (names, help, defaults).

Commands add a group with ``with_options`` and receive the values as ``options: dict``; ``common_flags`` turns
them into the CLI layer of the common settings. A leaf module (typer only): the service commands, ``train``,
``recognize``, ``test-nlu`` and ``monitor`` all import it without importing the CLI that assembles them.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

# A type alias of its own as well: commands with plain typer signatures (train, recognize) annotate with it.
ProfileOption = Annotated[Path | None, typer.Option(
    "--profile", envvar="HERMESH_PROFILE", show_default=False,
    help="Profile directory (default: $HERMESH_PROFILE, else ~/.config/hermesh/profile; the commands that "
         "run the mesh create it from the default English profile on first run).")]

COMMON_OPTIONS: dict[str, Any] = {
    "profile": ProfileOption,
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


def pick(group: dict[str, Any], *names: str) -> dict[str, Any]:
    """Some options of a group (a command that takes only these)."""
    return {name: group[name] for name in names}


PROFILE_OPTIONS = pick(COMMON_OPTIONS, "profile")
BROKER_OPTIONS = pick(COMMON_OPTIONS, "profile", *(name for name in COMMON_OPTIONS if name.startswith("mqtt_")))

"""``hermesh add-satellite``: a satellite's broker user (password file) and its ACL block, in one step."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from .acl import AclFileError, satellite_block, upsert_block
from .files import read_text, write_preserving
from .passwd import PasswordFileError, generate_password, parse_entries, upsert_password


@dataclass(frozen=True)
class SatelliteResult:
    password_action: str  # added / changed / unchanged
    acl_action: str
    generated_password: str | None
    acl_created: bool = False  # a new ACL file, started from the template with the base and monitor users


def add_satellite_files(
    password_file: Path,
    acl_file: Path,
    username: str,
    site_id: str,
    *,
    password: str | None,
    instance: str | None = None,
    wakewords: list[str] | None = None,
) -> SatelliteResult:
    """Write the password entry and the ACL block; both files change, or neither does.

    ``password=None`` keeps the password of a user that exists and generates one for a new user.
    """
    old_passwd = read_text(password_file)
    old_acl = read_text(acl_file)
    generated = None
    if password is None and username not in parse_entries(old_passwd or "", str(password_file)):
        password = generated = generate_password()
    passwd_update = upsert_password(old_passwd, username, password, str(password_file))
    block = satellite_block(username, site_id, instance or site_id, wakewords)
    acl_update = upsert_block(old_acl, username, block, str(acl_file))
    # Both new contents are computed and checked before either file is touched.
    if passwd_update.action != "unchanged":
        write_preserving(password_file, passwd_update.text)
    if acl_update.action != "unchanged":
        try:
            write_preserving(acl_file, acl_update.text)
        except OSError:
            if passwd_update.action != "unchanged":  # undo the first file so the two never disagree
                if old_passwd is None:
                    password_file.unlink(missing_ok=True)
                else:
                    write_preserving(password_file, old_passwd)
            raise
    return SatelliteResult(passwd_update.action, acl_update.action, generated, acl_created=old_acl is None)


def next_steps(username: str, site_id: str, instance: str, password_note: str) -> str:
    return f"""
Next steps:
  1. Reload the broker so it reads both files (connected clients stay connected):
       sudo systemctl reload mosquitto        # Debian/Ubuntu service
       docker compose kill -s HUP mosquitto   # compose.yaml
       kill -HUP <mosquitto pid>              # anything else
  2. On the satellite (it runs audio-input, audio-output and wake for site {site_id}):
       export HERMESH_MQTT_PASSWORD={password_note}
       export HERMESH_INSTANCE={instance}      # the ACL allows status topics hermesh/status/<service>/{instance} only
       hermesh up --satellite --site-id {site_id} --mqtt-host <base host> --mqtt-port 8883 \\
         --mqtt-tls --mqtt-ca-file ca.crt --mqtt-username {username}
  3. On the base: if the dialogue, asr, nlu or tts services are limited with --site-id, add {site_id} to them."""


def add_satellite(
    site_id: Annotated[str, typer.Argument(help="The satellite's site id (its room), e.g. kitchen.")],
    password_file: Annotated[Path, typer.Option("--password-file", help="Mosquitto password file (created if missing).")]
    = Path("mosquitto/passwd"),
    acl_file: Annotated[Path, typer.Option("--acl-file", help="Mosquitto ACL file (created if missing).")]
    = Path("mosquitto/acl"),
    username: Annotated[str | None, typer.Option("--username", help="Broker user name (default: the site id).")] = None,
    instance: Annotated[
        str | None, typer.Option("--instance", help="The satellite's status instance name (default: the site id).")
    ] = None,
    wakeword: Annotated[
        list[str] | None,
        typer.Option("--wakeword", help="Only allow detections of this wake word id (repeatable; default any)."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option("--password", envvar="HERMESH_SATELLITE_PASSWORD",
                     help="The satellite's password (default: keep an existing one, else prompt or generate)."),
    ] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    new_password: Annotated[
        bool, typer.Option("--new-password", help="Generate a new random password even if the user exists.")
    ] = False,
) -> None:
    """Add (or update) a satellite's broker user and ACL block, then print what to do next."""
    user = username or site_id
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif new_password:
        password = generate_password()
    elif password is None and sys.stdin.isatty():
        try:
            known = parse_entries(read_text(password_file) or "", str(password_file))
        except PasswordFileError as err:
            typer.echo(f"hermesh: {err}", err=True)
            raise typer.Exit(2) from err
        if user not in known:
            password = typer.prompt(f"password for {user}", hide_input=True, confirmation_prompt=True)
    try:
        result = add_satellite_files(password_file, acl_file, user, site_id, password=password,
                                     instance=instance, wakewords=wakeword)
    except (PasswordFileError, AclFileError) as err:
        typer.echo(f"hermesh: {err}", err=True)
        raise typer.Exit(2) from err
    except OSError as err:
        hint = " (run it with sudo, or as the owner of the broker's files)" if isinstance(err, PermissionError) else ""
        typer.echo(f"hermesh: cannot update {password_file} and {acl_file}: {err.strerror or err}{hint}; "
                   "neither file was changed", err=True)
        raise typer.Exit(1) from err
    typer.echo(f"satellite {site_id} (broker user {user}):")
    typer.echo(f"  {password_file}: user {user} {result.password_action}")
    typer.echo(f"  {acl_file}: ACL block {result.acl_action}")
    if result.acl_created:
        typer.echo(f"  {acl_file} is new: it also grants the base services' user 'hermesh' and the read-only\n"
                   f"  monitor user 'hermesh-monitor'; give them passwords: mosquitto_passwd {password_file} hermesh")
    shown = password if new_password else result.generated_password
    if shown:
        typer.echo(f"  generated password (shown once, store it on the satellite): {shown}")
    if result.password_action == result.acl_action == "unchanged":
        typer.echo("nothing changed; no reload needed")
        return
    typer.echo(next_steps(user, site_id, instance or site_id, shown or "<its password>"))

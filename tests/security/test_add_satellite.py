"""`hermesh add-satellite`: password file + ACL block, atomic and idempotent, usable by a real Mosquitto."""

from __future__ import annotations

import asyncio
import base64
import shutil
import stat
import subprocess
from pathlib import Path

import aiomqtt
import pytest
from typer.testing import CliRunner

from services.cli import app
from services.security.acl import BASE_TEMPLATE, AclFileError, satellite_block, upsert_block
from services.security.passwd import (
    PasswordFileError,
    hash_password,
    parse_entries,
    upsert_password,
    verify_password,
)

from .conftest import Secured
from .probe import Probe
from .production_broker import REPO

MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")


def run_cli(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_hash_matches_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    if MOSQUITTO_PASSWD is None:
        pytest.fail("mosquitto_passwd is missing (apt-get install mosquitto)")
    path = tmp_path / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(path), "alice", "s3cret"], check=True, timeout=30)
    entries = parse_entries(path.read_text(), str(path))
    assert entries["alice"].startswith("$7$")
    assert verify_password(entries["alice"], "s3cret")
    assert not verify_password(entries["alice"], "s3cret ")
    # and the other way: our line for the same salt and iteration count is byte-identical to mosquitto's
    _, _, iterations, salt, _ = entries["alice"].split("$")
    assert hash_password("s3cret", iterations=int(iterations), salt=base64.b64decode(salt)) == entries["alice"]


def test_upsert_password_is_idempotent_and_keeps_other_lines() -> None:
    start = "# managed by hand\nbob:$7$101$AAAA$BBBB\n"
    added = upsert_password(start, "kitchen", "pw1", "passwd")
    assert added.action == "added" and added.text.startswith(start)
    again = upsert_password(added.text, "kitchen", "pw1", "passwd")
    assert again.action == "unchanged" and again.text == added.text
    kept = upsert_password(added.text, "kitchen", None, "passwd")
    assert kept.action == "unchanged"
    changed = upsert_password(added.text, "kitchen", "pw2", "passwd")
    assert changed.action == "changed"
    assert changed.text.count("kitchen:") == 1 and "bob:$7$101$AAAA$BBBB" in changed.text
    assert verify_password(parse_entries(changed.text, "p")["kitchen"], "pw2")
    with pytest.raises(PasswordFileError, match="user name"):
        upsert_password("", "a:b", "pw", "passwd")
    with pytest.raises(PasswordFileError, match="line 1"):
        upsert_password("garbage without colon\n", "x", "pw", "passwd")


def test_acl_block_is_replaced_not_duplicated() -> None:
    first = upsert_block("user hermesh\ntopic readwrite #\n", "kitchen", satellite_block("kitchen", "kitchen", "kitchen"), "acl")
    assert first.action == "added"
    same = upsert_block(first.text, "kitchen", satellite_block("kitchen", "kitchen", "kitchen"), "acl")
    assert same.action == "unchanged" and same.text == first.text
    narrowed = upsert_block(first.text, "kitchen", satellite_block("kitchen", "kitchen", "kitchen", ["hey_k"]), "acl")
    assert narrowed.action == "changed"
    assert narrowed.text.count("user kitchen") == 1
    assert "topic write hermes/hotword/hey_k/detected" in narrowed.text
    assert "hermes/hotword/+/detected" not in narrowed.text
    assert narrowed.text.startswith("user hermesh\ntopic readwrite #\n")


def test_acl_refuses_a_user_already_configured_by_hand() -> None:
    with pytest.raises(AclFileError, match="line 1: 'user kitchen' is already configured"):
        upsert_block("user kitchen\ntopic readwrite #\n", "kitchen", satellite_block("kitchen", "kitchen", "kitchen"), "acl")
    with pytest.raises(AclFileError, match="site id"):
        satellite_block("kitchen", "kitchen/2", "kitchen")


def test_shipped_acl_example_matches_what_the_command_writes() -> None:
    example = (REPO / "mosquitto" / "acl.example").read_text()
    assert example == BASE_TEMPLATE + satellite_block("kitchen", "kitchen", "kitchen") + "\n"
    assert upsert_block(None, "kitchen", satellite_block("kitchen", "kitchen", "kitchen"), "acl").text == example
    assert upsert_block(example, "kitchen", satellite_block("kitchen", "kitchen", "kitchen"), "acl").action == "unchanged"


def test_cli_writes_both_files_idempotently(tmp_path: Path) -> None:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    args = ["add-satellite", "kitchen", "--password-file", str(passwd), "--acl-file", str(acl)]
    code, output = run_cli(*args, "--password", "pw-1")
    assert code == 0, output
    assert "user kitchen added" in output and "ACL block added" in output
    assert "systemctl reload mosquitto" in output and "--mqtt-username kitchen" in output
    assert "is new: it also grants the base services' user 'hermesh'" in output
    assert acl.read_text().startswith(BASE_TEMPLATE)  # a fresh file must not lock the base services out
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o640
    before = (passwd.read_bytes(), acl.read_bytes())
    code, output = run_cli(*args, "--password", "pw-1")
    assert code == 0 and "nothing changed" in output
    assert (passwd.read_bytes(), acl.read_bytes()) == before
    code, output = run_cli(*args)  # no password given: the existing one is kept
    assert code == 0 and (passwd.read_bytes(), acl.read_bytes()) == before
    code, output = run_cli(*args, "--password-stdin", input="pw-2\n")
    assert code == 0 and "user kitchen changed" in output and "ACL block unchanged" in output
    assert verify_password(parse_entries(passwd.read_text(), "p")["kitchen"], "pw-2")


def test_cli_generates_a_password_for_a_new_satellite(tmp_path: Path) -> None:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    code, output = run_cli("add-satellite", "hall", "--password-file", str(passwd), "--acl-file", str(acl),
                           "--wakeword", "hey_hall", "--instance", "pi-hall")
    assert code == 0, output
    generated = output.split("generated password (shown once, store it on the satellite): ")[1].split()[0]
    assert verify_password(parse_entries(passwd.read_text(), "p")["hall"], generated)
    assert "topic readwrite hermesh/status/+/pi-hall" in acl.read_text()
    assert "HERMESH_INSTANCE=pi-hall" in output


def test_cli_reports_a_broken_acl_file_and_changes_nothing(tmp_path: Path) -> None:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    acl.write_text("# >>> hermesh satellite kitchen\nuser kitchen\n")  # end marker missing
    code, output = run_cli("add-satellite", "kitchen", "--password-file", str(passwd), "--acl-file", str(acl),
                           "--password", "pw")
    assert code == 2
    assert "has no end marker" in output
    assert not passwd.exists(), "the password file must not change when the ACL cannot be written"


async def connect_until_accepted(probe_settings, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """After SIGHUP the broker re-reads its files within its next loop turn; there is no event to await."""
    deadline = asyncio.get_running_loop().time() + timeout
    delay = 0.05
    while True:
        try:
            async with Probe(probe_settings):
                return
        except aiomqtt.MqttError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


async def test_new_satellite_works_after_a_broker_reload(secured: Secured) -> None:
    broker = secured.broker
    porch = broker.tls("porch", "porch-secret")
    with pytest.raises(aiomqtt.MqttError):
        async with Probe(porch):
            pass
    code, output = run_cli("add-satellite", "porch", "--password-file", str(broker.passwd),
                           "--acl-file", str(broker.acl), "--password", "porch-secret")
    assert code == 0, output
    broker.reload()
    await connect_until_accepted(porch)
    async with Probe(secured.base()) as base, Probe(porch) as satellite:
        await satellite.subscribe("hermes/audioServer/kitchen/audioFrame", "hermes/audioServer/porch/playBytes/#")
        await base.publish("hermes/audioServer/kitchen/audioFrame", b"RIFF")
        await base.publish("hermes/audioServer/porch/playBytes/1", b"RIFF")
        await satellite.wait_topic("hermes/audioServer/porch/playBytes/1")
        assert "hermes/audioServer/kitchen/audioFrame" not in satellite.topics()


def test_password_file_is_put_back_when_the_acl_cannot_be_written(tmp_path: Path) -> None:
    # /proc accepts no new files, even from root: reading the ACL finds nothing, writing it fails.
    unwritable_acl = Path("/proc/hermesh-test-acl")
    assert not unwritable_acl.exists()
    passwd = tmp_path / "passwd"
    passwd.write_text("bob:$7$101$AAAA$BBBB\n")
    before = passwd.read_bytes()
    for password_file in (passwd, tmp_path / "new-passwd"):
        code, output = run_cli("add-satellite", "kitchen", "--password-file", str(password_file),
                               "--acl-file", str(unwritable_acl), "--password", "pw")
        assert code == 1 and "neither file was changed" in output, output
    assert passwd.read_bytes() == before
    assert not (tmp_path / "new-passwd").exists()

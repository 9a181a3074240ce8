"""Rhasspy's setup and power endpoints (issue 14): download-profile/-status, and POST /api/system running the
configured argv for real (a python -c that writes a file), admin only, off by default."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from bridge.auth import encode_jwt
from bridge.settings import BridgeSettings

from .harness import http, run_bridge

SECRET = "system-jwt-secret"


def jwt(username: str, role: str) -> str:
    return encode_jwt({"user": {"username": username, "role": role}}, SECRET)


async def test_download_profile_is_ok_and_the_status_is_done(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        downloaded = await client.post("/api/download-profile")
        status = await client.get("/api/download-status")
        profiles = await client.get("/api/profiles")
    assert downloaded.status_code == 200 and downloaded.text == "OK"
    assert status.status_code == 200 and status.json() == {}  # Rhasspy's shape when no download runs
    assert all(entry["done"] for entry in status.json().values())
    assert profiles.json()["downloaded"] is True


async def test_system_is_off_by_default_and_says_what_to_set(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        reboot = await client.post("/api/system", content="reboot")
        other = await client.post("/api/system", content="format-disk")
    assert reboot.status_code == 501 and "bridge.system_commands.reboot" in reboot.text
    assert other.status_code == 400 and "reboot or shutdown" in other.text


async def test_system_runs_the_configured_argv_for_admins_only(mqtt_broker, profile_dir, tmp_path):
    marker = tmp_path / "rebooted.txt"
    script = ("import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('reboot ran'); "
              "print('going down'); print('note', file=sys.stderr)")
    commands = {
        "reboot": [sys.executable, "-c", script, str(marker)],
        "shutdown": [sys.executable, "-c", "import sys; print('no power button', file=sys.stderr); sys.exit(3)"],
    }
    async with run_bridge(mqtt_broker, profile_dir, jwt_secret=SECRET, system_commands=commands) as bridge:
        async with http(bridge, headers={"Authorization": f"Bearer {jwt('kitchen', 'user')}"}) as user:
            refused = await user.post("/api/system", content="reboot")
        assert not marker.exists()
        async with http(bridge, headers={"Authorization": f"Bearer {jwt('boss', 'admin')}"}) as admin:
            rebooted = await admin.post("/api/system", content="reboot")
            as_json = await admin.post("/api/system", content="reboot", headers={"Accept": "application/json"})
            failed = await admin.post("/api/system", content="shutdown")
    assert refused.status_code == 403 and "admin" in refused.text
    assert rebooted.status_code == 200 and rebooted.text.strip() == "going down"
    assert marker.read_text() == "reboot ran"
    report = as_json.json()
    assert report["exitCode"] == 0 and report["stdout"].strip() == "going down"
    assert report["stderr"].strip() == "note" and report["argv"] == commands["reboot"]
    assert failed.status_code == 500 and "code 3" in failed.text and "no power button" in failed.text


async def test_system_command_timeout_kills_it(mqtt_broker, profile_dir):
    commands = {"reboot": [sys.executable, "-c", "import time; time.sleep(30)"]}
    async with run_bridge(mqtt_broker, profile_dir, system_commands=commands, system_command_timeout=0.5) as bridge, \
            http(bridge) as client:
        slow = await client.post("/api/system", content="reboot")
    assert slow.status_code == 504 and "system_command_timeout" in slow.text


async def test_system_commands_cannot_be_set_over_http_without_an_admin_token(mqtt_broker, profile_dir):
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        patched = await client.patch("/api/config", json={"bridge": {"system_commands": {"reboot": ["true"]}}})
    assert patched.status_code == 403 and "bridge.system_commands" in patched.text
    stored = profile_dir / "profile.json"
    assert not stored.exists() or "system_commands" not in stored.read_text()


@pytest.mark.parametrize("argv", [[], [""], ["sudo shutdown -r now"], ["ok", 3]])
def test_system_command_argv_is_validated(argv):
    with pytest.raises(ValidationError, match="system_commands"):
        BridgeSettings(system_commands={"reboot": argv})
    with pytest.raises(ValidationError):
        BridgeSettings(system_commands={"format": ["true"]})

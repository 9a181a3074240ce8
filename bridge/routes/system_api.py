"""Rhasspy's setup and power endpoints: profile download (nothing to download) and POST /api/system."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..http_util import BridgeHTTPError, api_doc, body_text, json_response, prefers_json, text
from .common import get_bridge, require_admin

router = APIRouter(tags=["system"])
LOG = logging.getLogger("hermesh.bridge.system")
SYSTEM_ACTIONS = ("reboot", "shutdown")
# What a command may print before its output is cut (a reply, not a log file).
MAX_OUTPUT_BYTES = 64 * 1024


@router.post("/api/download-profile", **api_doc(
    "Download the profile's files (nothing to do)", responses={"text/plain": "OK"},
    description="Rhasspy downloads missing acoustic models here. A Hermesh profile ships everything it needs, "
                "so this answers OK at once (GET /api/profiles says downloaded: true)."))
async def download_profile(request: Request) -> Response:
    require_admin(request, "downloading the profile")
    return text("OK")


@router.get("/api/download-status", **api_doc(
    "Progress of the profile download", responses={"application/json": "{file: {done, bytes_percent}}; empty: "
                                                   "nothing is downloading, every file is there"},
    description="Rhasspy's web UI polls this after POST /api/download-profile until every file is done; an "
                "empty object is Rhasspy's answer when no download runs."))
async def download_status(request: Request) -> Response:
    require_admin(request, "reading the download status")
    return json_response({})


@router.post("/api/system", **api_doc(
    "Reboot or shut down the machine with the configured command", body="text/plain",
    body_description="reboot or shutdown", responses={
        "text/plain": "what the command printed on stdout (may be empty)",
        "application/json": "with Accept: application/json: {action, argv, exitCode, stdout, stderr}"},
    description="Runs the argv of bridge.system_commands.<action> without a shell, for at most "
                "bridge.system_command_timeout seconds. Nothing is configured by default (501). Admin only.",
    errors={400: "not reboot or shutdown", 501: "no command configured for the action",
            500: "the command failed (exit code and stderr)", 504: "the command ran too long"}))
async def system(request: Request) -> Response:
    require_admin(request, "rebooting or shutting down the machine")
    bridge = get_bridge(request)
    action = body_text(await request.body()).strip().strip('"').lower()
    if action not in SYSTEM_ACTIONS:
        raise BridgeHTTPError(400, f"POST /api/system wants the body reboot or shutdown, not {action[:40]!r}")
    argv = bridge.settings.system_commands.get(action)  # type: ignore[call-overload]
    if not argv:
        raise BridgeHTTPError(501, f"{action} is not configured: set bridge.system_commands.{action} in "
                                   "profile.json to the argv to run, e.g. [\"sudo\", \"-n\", \"/sbin/shutdown\", "
                                   f"\"{'-r' if action == 'reboot' else '-h'}\", \"now\"]")
    timeout = bridge.settings.system_command_timeout
    LOG.warning("POST /api/system %s: running %s", action, argv)
    exit_code, stdout, stderr = await run_argv(argv, timeout)
    if exit_code is None:
        raise BridgeHTTPError(504, f"{action}: {argv[0]} still ran after {timeout:g} s and was killed "
                                   "(bridge.system_command_timeout)")
    if exit_code != 0:
        raise BridgeHTTPError(500, f"{action}: {argv[0]} exited with code {exit_code}: {stderr.strip() or stdout}")
    if prefers_json(request):
        return json_response({"action": action, "argv": argv, "exitCode": exit_code, "stdout": stdout,
                              "stderr": stderr})
    return text(stdout)


async def run_argv(argv: list[str], timeout: float) -> tuple[int | None, str, str]:
    """(exit code or None after a timeout, stdout, stderr); a program that cannot start is a 500 naming it."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except OSError as err:
        raise BridgeHTTPError(500, f"cannot run {argv[0]!r}: {err.strerror or err}; check "
                                   "bridge.system_commands") from err
    try:
        out, errors = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return None, "", ""
    return process.returncode, _decode(out), _decode(errors)


def _decode(data: bytes) -> str:
    return data[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace")

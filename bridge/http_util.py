"""Small HTTP helpers shared by the routes: errors, plain-text replies, Rhasspy's query-parameter rules."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from hermes.site_ids import session_id_problem, site_id_problem, topic_level_problem

from .auth import ANONYMOUS_ADMIN, Principal
from .mesh_error import MeshError, MeshErrorCode

# Deeper JSON than this is refused before anything walks it (profiles nest about five levels).
MAX_JSON_DEPTH = 64
# The longest text accepted for recognition or speech (a 10 MB "command" is an attack, not a command).
MAX_TEXT_CHARS = 10_000
# No wait asked for by a client lasts longer than this.
MAX_TIMEOUT_SECONDS = 3600.0


class BridgeHTTPError(Exception):
    """An error with an HTTP status and a message the user can act on (sent as plain text, never a traceback)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class StreamAborted(Exception):
    """A streamed body that failed after its status was sent, raised out of the body so the server cuts the
    connection without the chunked body's end: the client gets an incomplete read, not a short body that looks
    whole (a WAV whose header says "unknown length" has no other way to tell). Whoever raises it has logged why."""


class QuietAborts(logging.Filter):
    """Drops the server's "Exception in ASGI application" traceback for a StreamAborted: it was logged once, with
    its reason, where it happened."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamAborted))


QUIET_ABORTS = QuietAborts()  # one instance: Logger.addFilter adds it once however many bridges start


# The one mapping of mesh failures to HTTP statuses (the exception handler in app.py applies it).
MESH_ERROR_STATUS: dict[MeshErrorCode, int] = {
    MeshErrorCode.OFFLINE: 503,  # the service is not there: come back later
    MeshErrorCode.TIMEOUT: 503,
    MeshErrorCode.FAILED: 502,  # the service answered with a Hermes error: a bad gateway
    MeshErrorCode.REJECTED: 400,  # the request (a WAV, a profile) is what the service refused
}


def mesh_error_response(err: MeshError) -> PlainTextResponse:
    return PlainTextResponse(err.message, status_code=MESH_ERROR_STATUS[err.code])


def bad_request(message: str) -> BridgeHTTPError:
    return BridgeHTTPError(400, message)


def text(body: str, status: int = 200) -> PlainTextResponse:
    """Rhasspy answers strings as text/html; we say what they are (rhasspy-http-api.md §8.5, fixed)."""
    return PlainTextResponse(body, status_code=status)


def json_response(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def wav_response(wav: bytes, filename: str | None = None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename else None
    return Response(wav, media_type="audio/wav", headers=headers)


def qbool(request: Request, *names: str, default: bool = False) -> bool:
    """Rhasspy compares boolean parameters case-insensitively with "true" (rhasspy-client sends True/False)."""
    for name in names:
        value = request.query_params.get(name)
        if value is not None:
            return value.strip().lower() == "true"
    return default


def qfloat(request: Request, name: str, default: float) -> float:
    """A finite number (inf and nan are refused: they would make waits endless and volumes meaningless)."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError as err:
        raise bad_request(f"query parameter {name}={value!r} is not a number") from err
    if not math.isfinite(number):
        raise bad_request(f"query parameter {name}={value!r} must be a finite number")
    return number


def qtimeout(request: Request, name: str, default: float) -> float:
    """Seconds to wait: more than 0 and at most MAX_TIMEOUT_SECONDS."""
    seconds = qfloat(request, name, default)
    if not 0 < seconds <= MAX_TIMEOUT_SECONDS:
        raise bad_request(f"query parameter {name}={seconds:g} must be more than 0 and at most "
                          f"{MAX_TIMEOUT_SECONDS:g} seconds")
    return seconds


def check_volume(volume: object, where: str = "volume") -> float:
    if isinstance(volume, bool) or not isinstance(volume, int | float) or not 0.0 <= volume <= 1.0:
        raise bad_request(f"{where} must be a number from 0 to 1, not {volume!r}")
    return float(volume)


def check_text(value: object, what: str) -> str:
    """A string of at most MAX_TEXT_CHARS characters (413 when longer: say where the cap is documented)."""
    if not isinstance(value, str):
        raise bad_request(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        raise BridgeHTTPError(413, f"{what} is {len(value)} characters long; the limit is {MAX_TEXT_CHARS} "
                                   "(see the API description)")
    return value


def check_site_id(site: object) -> str:
    problem = site_id_problem(site)
    if problem:
        raise bad_request(problem)
    assert isinstance(site, str)
    return site


def qsession(request: Request, name: str = "sessionId") -> str | None:
    """A session id from the query (None when absent): it becomes a topic level, so it obeys that rule."""
    value = request.query_params.get(name) or None
    problem = session_id_problem(value) if value is not None else None
    if problem:
        raise bad_request(f"query parameter {name}: {problem}")
    return value


def qlevel(request: Request, name: str, default: str) -> str:
    """A query value that becomes a topic level (a wake word id in hermes/hotword/<id>/detected)."""
    value = request.query_params.get(name) or default
    problem = topic_level_problem(value, f"query parameter {name}")
    if problem:
        raise bad_request(problem)
    return value


def qint(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as err:
        raise bad_request(f"query parameter {name}={value!r} is not an integer") from err


def qlist(request: Request, name: str) -> list[str] | None:
    """A comma list (``intentFilter=A,B``); None when absent or empty."""
    value = request.query_params.get(name)
    if not value:
        return None
    items = [part.strip() for part in value.split(",") if part.strip()]
    return items or None


def prefers_json(request: Request) -> bool:
    """True only if Accept rates application/json strictly above text/plain (Rhasspy's rule, §0)."""
    accept = request.headers.get("accept", "")
    if not accept:
        return False
    best: dict[str, float] = {}
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        quality = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best[media] = max(best.get(media, 0.0), quality)

    def rating(media: str) -> float:
        major = media.split("/")[0]
        for candidate in (media, f"{major}/*", "*/*"):
            if candidate in best:
                return best[candidate]
        return 0.0

    return rating("application/json") > rating("text/plain")


def principal(request: Request) -> Principal:
    return getattr(request.state, "principal", ANONYMOUS_ADMIN)


def body_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise bad_request(f"the request body is not UTF-8 text (byte {err.start})") from err


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when lists/objects nest deeper than ``limit`` (iterative: deep values must not exhaust the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(raw: str, what: str = "the request body") -> Any:
    """JSON text -> value; malformed or deeper than MAX_JSON_DEPTH is a BridgeHTTPError(400), never a 500."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        raise bad_request(f"{what} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}") from err
    except RecursionError as err:
        raise bad_request(f"{what} nests lists or objects deeper than {MAX_JSON_DEPTH} levels") from err
    if json_depth_exceeds(value, MAX_JSON_DEPTH):
        raise bad_request(f"{what} nests lists or objects deeper than {MAX_JSON_DEPTH} levels")
    return value


def body_json(body: bytes, what: str = "the request body") -> Any:
    return parse_json(body_text(body), what)


def is_json_content(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def request_json(request: Request, what: str = "the request body", *, optional: bool = False) -> Any:
    """The JSON body of a JSON endpoint. Content-Type must say JSON (415): a browser can send text/plain
    cross-site without a preflight, application/json it cannot. ``optional``: an empty body is None."""
    body = await request.body()
    if optional and not body.strip():
        return None
    if not is_json_content(request):
        sent = request.headers.get("content-type") or "no Content-Type"
        raise BridgeHTTPError(415, f"{what} must be sent with Content-Type: application/json (got {sent})")
    return body_json(body, what)


# ---- OpenAPI descriptions: every route declares its real content types ------------------------------------
def api_doc(
    summary: str,
    *,
    body: str | None = None,
    body_description: str = "",
    also_accepts: tuple[str, ...] = (),
    responses: dict[str, str] | None = None,
    description: str = "",
    params: list[tuple[str, str]] | None = None,
    errors: dict[int, str] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a FastAPI route: the raw body's media type and the response media types;
    ``errors``: statuses of this route beyond the common ones (plain-text messages)."""
    extra: dict[str, Any] = {}
    json_only = body == "application/json" and not also_accepts
    if body:
        def schema(media: str) -> dict[str, str]:
            if media.startswith("audio/") or media.endswith("octet-stream"):
                return {"type": "string", "format": "binary"}
            return {"type": "object"} if media == "application/json" else {"type": "string"}

        extra["requestBody"] = {"required": True, "description": body_description,
                                "content": {media: {"schema": schema(media)} for media in (body, *also_accepts)}}
    if params:
        extra["parameters"] = [
            {"name": name, "in": "query", "required": False, "description": text_, "schema": {"type": "string"}}
            for name, text_ in params
        ]
    content = {
        media: {"schema": {"type": "string", "format": "binary"} if media.startswith("audio/") or "zip" in media
                else ({} if media == "application/json" else {"type": "string"})}
        for media in (responses or {"text/plain": ""})
    }
    return {
        "summary": summary,
        "description": description or summary,
        "openapi_extra": extra,
        "responses": {
            200: {"description": "; ".join(f"{m}: {d}" for m, d in (responses or {}).items() if d) or "OK",
                  "content": content},
            400: {"description": "malformed request (plain-text message)", "content": {"text/plain": {}}},
            401: {"description": "authentication required or token invalid", "content": {"text/plain": {}}},
            403: {"description": "the token's role may not do this, or the request's Origin or Host is not allowed",
                  "content": {"text/plain": {}}},
            429: {"description": "too many failed logins from this address; wait Retry-After seconds",
                  "content": {"text/plain": {}}},
            502: {"description": "a mesh service answered with an error (message names the service and why)",
                  "content": {"text/plain": {}}},
            503: {"description": "a needed service is not running (message names it)",
                  "content": {"text/plain": {}}},
            **({415: {"description": "the body must be sent with Content-Type: application/json",
                      "content": {"text/plain": {}}}} if json_only else {}),
            **{status: {"description": what, "content": {"text/plain": {}}} for status, what in (errors or {}).items()},
        },
        "response_class": Response,
    }

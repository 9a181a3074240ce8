"""Small HTTP helpers shared by the routes: errors, plain-text replies, Rhasspy's query-parameter rules."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from .auth import ANONYMOUS_ADMIN, Principal


class BridgeHTTPError(Exception):
    """An error with an HTTP status and a message the user can act on (sent as plain text, never a traceback)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as err:
        raise bad_request(f"query parameter {name}={value!r} is not a number") from err


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


def body_json(body: bytes, what: str = "the request body") -> Any:
    try:
        return json.loads(body_text(body))
    except json.JSONDecodeError as err:
        raise bad_request(f"{what} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}") from err


# ---- OpenAPI descriptions: every route declares its real content types ------------------------------------
def api_doc(
    summary: str,
    *,
    body: str | None = None,
    body_description: str = "",
    responses: dict[str, str] | None = None,
    description: str = "",
    params: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a FastAPI route: the raw body's media type and the response media types."""
    extra: dict[str, Any] = {}
    if body:
        schema = {"type": "string", "format": "binary"} if body.startswith("audio/") or body.endswith(
            "octet-stream"
        ) else ({"type": "object"} if body == "application/json" else {"type": "string"})
        extra["requestBody"] = {"required": True, "description": body_description,
                                "content": {body: {"schema": schema}}}
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
            403: {"description": "the token's role may not do this", "content": {"text/plain": {}}},
            503: {"description": "a needed service is not running (message names it)",
                  "content": {"text/plain": {}}},
        },
        "response_class": Response,
    }

"""The FastAPI application of the bridge: middleware (Host/Origin policy, auth, login throttle, body limit),
error replies, routers, docs."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.config import ConfigError
from services.runtime.service import VERSION

from .auth import USER, AuthError, authenticate, token_from
from .context import BridgeContext
from .docs_page import OPENAPI_DESCRIPTION, docs_html
from .http_util import BridgeHTTPError, StreamAborted, api_doc, mesh_error_response
from .login_throttle import LoginThrottle
from .mesh_error import MeshError
from .profile_files import ProfileFileConflict, ProfileFileError
from .request_policy import RequestPolicyMiddleware
from .url_root import UrlRootMiddleware, root_of, route_path

LOG = logging.getLogger("hermesh.bridge.http")
WEB_DIR = Path(__file__).parent / "web"

# What a JWT with role "user" may reach; every handler there also checks the siteId against the username.
USER_PATHS = frozenset({
    "/api/version", "/api/text-to-intent", "/api/speech-to-text", "/api/speech-to-intent",
    "/api/listen-for-command", "/api/text-to-speech", "/api/events/intent", "/api/events/text",
    "/api/events/wake", "/api/audio", "/api/stop", "/api/languages", "/api/tts-voices", "/api/set-volume",
    "/api/listen-for-wake", "/api/play-wav", "/api/tts/test", "/api/status", "/api/audio-summaries",
    "/api/events/audiosummary",
})
PUBLIC_PATHS = frozenset({"/", "/docs", "/docs/", "/openapi.json", "/openapi/", "/favicon.ico"})


class BodyTooLarge(Exception):
    pass


class GuardMiddleware:
    """Authenticates every HTTP request and websocket, slows down token guessing, enforces the body limit."""

    def __init__(self, app: ASGIApp, bridge: BridgeContext) -> None:
        self.app = app
        self.bridge = bridge
        self.throttle = LoginThrottle(bridge.settings.login_attempts_threshold, bridge.settings.login_ban_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        settings = self.bridge.settings
        if path not in PUBLIC_PATHS and not path.startswith("/web/") and not (
            scope["type"] == "http" and scope.get("method") == "OPTIONS"
        ):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            token = token_from(_query(scope), headers.get("authorization"))
            address = (scope.get("client") or ("unknown",))[0]
            now = time.monotonic()
            wait = self.throttle.retry_after(address, now) if token and settings.auth_enabled else 0.0
            if wait:
                await _reject(scope, receive, send, 429, f"429: too many failed logins from {address}; try again "
                              f"in {math.ceil(wait)} s with the right token (bridge.login_attempts_threshold)",
                              retry_after=math.ceil(wait))
                return
            try:
                principal = authenticate(
                    token,
                    settings.auth_token.get_secret_value() if settings.auth_token else None,
                    settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
                )
            except AuthError as err:
                if token and err.status == 401:
                    self.throttle.failed(address, now)
                await _reject(scope, receive, send, err.status, err.message)
                return
            # A good token does not clear the count: holding a user token must not reset the guessing of another.
            if principal.role == USER and path not in USER_PATHS:
                await _reject(scope, receive, send, 403,
                              f"{path} needs the admin role; user {principal.username!r} has role 'user'")
                return
            scope.setdefault("state", {})["principal"] = principal
        if scope["type"] == "http":
            limit = settings.max_body_bytes
            headers_list = scope.get("headers", [])
            for key, value in headers_list:
                if key == b"content-length":
                    try:
                        too_big = int(value) > limit
                    except ValueError:
                        too_big = False
                    if too_big:
                        await _reject(scope, receive, send, 413, f"request body larger than {limit} bytes "
                                      "(bridge.max_body_bytes)")
                        return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLarge(f"request body larger than {limit} bytes (bridge.max_body_bytes)")
                return message

            await self.app(scope, limited_receive, send)
            return
        await self.app(scope, receive, send)


def _query(scope: Scope) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


async def _reject(scope: Scope, receive: Receive, send: Send, status: int, message: str,
                  retry_after: int | None = None) -> None:
    if scope["type"] == "websocket":
        # Closing before accepting makes the handshake fail with HTTP 403.
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    headers = {"WWW-Authenticate": 'Bearer realm="hermesh"'} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    response = PlainTextResponse(message, status_code=status, headers=headers)
    await response(scope, receive, send)


def create_app(bridge: BridgeContext) -> FastAPI:
    from .routes import (
        audio_ws,
        devices,
        evaluate,
        mqtt_api,
        profile_api,
        recognition,
        runtime_api,
        speech,
        system_api,
        training,
        websockets,
    )

    app = FastAPI(
        title="Hermesh bridge",
        version=VERSION,
        description=OPENAPI_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.bridge = bridge
    app.state.mesh = bridge.mesh
    app.state.bridge_state = bridge.state
    for module in (recognition, speech, training, profile_api, devices, mqtt_api, runtime_api, system_api, evaluate,
                   websockets, audio_ws):
        app.include_router(module.router)

    @app.exception_handler(BridgeHTTPError)
    async def _bridge_error(request: Request, err: BridgeHTTPError) -> PlainTextResponse:
        return PlainTextResponse(err.message, status_code=err.status)

    @app.exception_handler(MeshError)
    async def _mesh_error(request: Request, err: MeshError) -> PlainTextResponse:
        return mesh_error_response(err)

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, err: AuthError) -> PlainTextResponse:
        return PlainTextResponse(err.message, status_code=err.status)

    @app.exception_handler(ProfileFileError)
    async def _profile_error(request: Request, err: ProfileFileError) -> PlainTextResponse:
        return PlainTextResponse(str(err), status_code=409 if isinstance(err, ProfileFileConflict) else 400)

    @app.exception_handler(ConfigError)
    async def _config_error(request: Request, err: ConfigError) -> PlainTextResponse:
        return PlainTextResponse(str(err), status_code=400)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, err: BodyTooLarge) -> PlainTextResponse:
        return PlainTextResponse(str(err), status_code=413)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> PlainTextResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        return PlainTextResponse(f"invalid request: {problems}", status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> PlainTextResponse:
        return PlainTextResponse(str(err.detail), status_code=err.status_code, headers=err.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> PlainTextResponse:
        if isinstance(err, StreamAborted):  # logged where it happened; the response has started: nothing to send
            return PlainTextResponse("stream aborted", status_code=500)
        LOG.error("unexpected error on %s %s", request.method, request.url.path, exc_info=err)
        return PlainTextResponse(f"internal error: {type(err).__name__}: {err}", status_code=500)

    @app.get("/", include_in_schema=False)
    async def _root(request: Request) -> Any:
        web = web_dir(bridge)
        if web is not None and (web / "index.html").is_file():
            return FileResponse(web / "index.html", media_type="text/html")
        return RedirectResponse(root_of(request.scope) + "/docs")

    @app.get("/metrics", **api_doc(
        "Prometheus metrics", responses={"text/plain": "session counts by termination reason, stage latency "
                                         "histograms, messages per topic family, services up, broker figures"}))
    async def _metrics() -> Response:
        from services.monitor.metrics import CONTENT_TYPE, render_prometheus

        if bridge.observer is None:
            return PlainTextResponse("the mesh observer is not running", status_code=503)
        return Response(render_prometheus(bridge.observer), media_type=CONTENT_TYPE)

    @app.get("/docs", include_in_schema=False)
    async def _docs(request: Request) -> HTMLResponse:
        return HTMLResponse(docs_html(root_of(request.scope)))

    @app.get("/openapi/", include_in_schema=False)
    async def _openapi_alias(request: Request) -> RedirectResponse:
        return RedirectResponse(root_of(request.scope) + "/docs")  # Rhasspy's Swagger page lived here

    web = web_dir(bridge)
    if web is not None:
        @app.get("/web/", include_in_schema=False)
        @app.get("/web/index.html", include_in_schema=False)
        async def _web_index(request: Request) -> RedirectResponse:
            # index.html links its assets relative to the root page, where it belongs.
            return RedirectResponse(root_of(request.scope) + "/")

        app.mount("/web", StaticFiles(directory=web, html=True), name="web")

    # Added last = runs first: a refused Host or Origin never reaches authentication or a handler; a path
    # outside the url root is a 404 before authentication, which then sees the path as the routes do.
    app.add_middleware(GuardMiddleware, bridge=bridge)
    app.add_middleware(UrlRootMiddleware, root=bridge.settings.url_root)
    app.add_middleware(RequestPolicyMiddleware, settings=lambda: bridge.settings, listen_host=bridge.common.http.host)
    return app


def web_dir(bridge: BridgeContext) -> Path | None:
    configured = bridge.settings.web_dir
    if configured is not None:
        return configured if configured.is_dir() else None
    return WEB_DIR if WEB_DIR.is_dir() else None

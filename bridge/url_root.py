"""``--url-root PREFIX`` (``bridge.url_root``): the whole bridge (routes, websockets, OpenAPI, web UI) under one
path prefix, as Rhasspy's ``--url-root``, for a reverse proxy that forwards ``/hermesh/...`` unchanged.

The prefix goes into the ASGI ``root_path`` and the path keeps it (the ASGI rule): Starlette's routing takes
``root_path`` off when it matches, FastAPI lists it as the OpenAPI document's server, and ``route_path`` gives
the middleware the path as the routes see it. Anything outside the prefix is a 404, as in Rhasspy.
"""

from __future__ import annotations

import re

from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# One path segment: letters, digits and - . _ ~ (no "..", no "%": what a proxy forwards must mean one thing).
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def check_url_root(value: str) -> str:
    """'' (no prefix) or '/a/b'; one trailing slash is dropped ('/hermesh/' is '/hermesh'), '/' is ''."""
    value = value.strip()
    if value in ("", "/"):
        return ""
    if not value.startswith("/"):
        raise ValueError(f"url_root {value!r} must start with '/', e.g. /hermesh")
    body = value[1:-1] if value.endswith("/") else value[1:]
    for segment in body.split("/"):
        if not segment:
            raise ValueError(f"url_root {value!r} has an empty segment ('//'); write e.g. /hermesh or /a/b")
        if segment in (".", ".."):
            raise ValueError(f"url_root {value!r} may not contain '.' or '..' segments")
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(f"url_root {value!r}: segment {segment!r} may hold only letters, digits and - . _ ~")
    return "/" + body


def route_path(scope: Scope) -> str:
    """The request path without the url root (what the routes match; Starlette's routing takes it off alike)."""
    path: str = scope.get("path", "")
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root + "/"):
        return path[len(root):]
    return path


def root_of(scope: Scope) -> str:
    """The url root a request came in under ('' without one), for links and redirects the bridge writes."""
    return str(scope.get("root_path", "")).rstrip("/")


class UrlRootMiddleware:
    """Serve under ``root`` only: ``root`` itself redirects to ``root/``, other paths are a 404."""

    def __init__(self, app: ASGIApp, root: str) -> None:
        self.app = app
        self.root = root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.root or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == self.root and scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            # The web UI's relative links resolve against root/, not root.
            await RedirectResponse(self.root + "/" + (f"?{query}" if query else ""))(scope, receive, send)
            return
        if not path.startswith(self.root + "/"):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": f"not under {self.root}/"})
                return
            await PlainTextResponse(f"404: {path} is not here: this bridge serves everything under "
                                    f"{self.root}/ (bridge.url_root)", status_code=404)(scope, receive, send)
            return
        await self.app({**scope, "root_path": str(scope.get("root_path", "")) + self.root}, receive, send)

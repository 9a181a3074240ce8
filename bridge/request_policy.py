"""Which browsers and host names may talk to the bridge: the one place for the Host, Origin and CORS rules.

Without these a web page the user visits could drive the API: with no token configured every caller is an
admin, and a "simple" cross-origin POST (text/plain, no preflight) reaches the handler even though the page
cannot read the answer. DNS rebinding (a page's own host name re-pointed at 127.0.0.1) defeats the origin rule
unless the Host header is checked too. So, as Jupyter Server and Home Assistant do:

* ``Host`` must be an IP literal, ``localhost``, this machine's name, the listen host or a name in
  ``bridge.allowed_hosts``; else 403 (every request, reads included).
* A state-changing request (POST, PUT, PATCH, DELETE) or a websocket upgrade whose ``Origin`` is present must
  come from the bridge itself (same scheme, host and port) or from ``bridge.cors_origins``; else 403. Clients
  that send no ``Origin`` (curl, Home Assistant, rhasspy-client) are not browsers and are not affected.
* CORS headers are sent only for origins listed in ``bridge.cors_origins`` (default: none).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import BridgeSettings

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}
PREFLIGHT_MAX_AGE = "600"


@lru_cache(maxsize=1)
def machine_names() -> frozenset[str]:
    """This machine's host name and fully qualified name (looked up once: getfqdn may ask DNS)."""
    names = {socket.gethostname(), socket.getfqdn()}
    return frozenset(name.lower().rstrip(".") for name in names if name)


def split_host(host_header: str) -> tuple[str, int | None] | None:
    """``name:port`` / ``[v6]:port`` -> (name, port); None when the header is not a host at all."""
    value = host_header.strip().lower()
    if not value or any(c in value for c in "/@?# \\"):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = value.partition(":")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        return name.rstrip("."), int(port_text)
    return name.rstrip("."), None


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(host_header: str | None, extra_names: Iterable[str]) -> bool:
    """IP literals, localhost, this machine's names and the configured names; a missing Host is no rebinding."""
    if host_header is None:
        return True
    parsed = split_host(host_header)
    if parsed is None:
        return False
    name = parsed[0]
    if is_ip_literal(name) or name == "localhost":
        return True
    return name in machine_names() or name in {n.lower().rstrip(".") for n in extra_names}


def normalise_origin(scheme: str, host: str, port: int | None) -> str:
    """``scheme://host[:port]`` with the default port left out, as browsers write Origin."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port is None or DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origin(origin: str) -> str | None:
    """An Origin header in normal form, or None when it is ``null`` or not a URL origin."""
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return normalise_origin(parts.scheme, parts.hostname, port)


def own_origin(scope_scheme: str, host_header: str | None) -> str | None:
    """The origin of the bridge as this request reached it (websocket ws/wss count as http/https)."""
    if host_header is None:
        return None
    parsed = split_host(host_header)
    if parsed is None:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scope_scheme, scope_scheme)
    return normalise_origin(scheme, parsed[0], parsed[1])


class RequestPolicyMiddleware:
    """Host check, Origin check for state-changing requests and websockets, and CORS for listed origins."""

    def __init__(self, app: ASGIApp, settings: Callable[[], BridgeSettings], listen_host: str) -> None:
        self.app = app
        self.settings = settings
        self.listen_host = listen_host

    def host_names(self, settings: BridgeSettings) -> list[str]:
        names = list(settings.allowed_hosts)
        if self.listen_host and not is_ip_literal(self.listen_host):
            names.append(self.listen_host)
        return names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = self.settings()
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not host_allowed(host, self.host_names(settings)):
            name = (split_host(host or "") or (host or "",))[0]
            await refuse(scope, receive, send, 403,
                         f"403: Host {host!r} is not allowed (DNS rebinding defence); use an IP address, localhost "
                         f"or this machine's name, or add {name!r} to bridge.allowed_hosts in profile.json")
            return
        origin_header = headers.get("origin")
        listed = set(settings.cors_origins)
        origin = parse_origin(origin_header) if origin_header is not None else None
        method = scope.get("method", "GET")
        if scope["type"] == "http" and method == "OPTIONS" and origin_header is not None \
                and "access-control-request-method" in headers:
            await self.preflight(scope, receive, send, origin, listed)
            return
        checked = scope["type"] == "websocket" or method in STATE_CHANGING
        if checked and origin_header is not None and origin != own_origin(scope.get("scheme", "http"), host) \
                and origin not in listed:
            await refuse(scope, receive, send, 403,
                         f"403: Origin {origin_header} is not allowed to change anything here; if that page "
                         "should control this assistant, add it to bridge.cors_origins in profile.json")
            return
        if origin is None or origin not in listed or scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers["Access-Control-Allow-Origin"] = origin
                response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def preflight(self, scope: Scope, receive: Receive, send: Send, origin: str | None,
                        listed: set[str]) -> None:
        """A CORS preflight: allowed for listed origins only; others get no CORS headers, so the browser stops."""
        if origin is None or origin not in listed:
            response: Response = PlainTextResponse(
                "preflight refused: this origin is not in bridge.cors_origins", status_code=403)
        else:
            requested = Headers(scope=scope).get("access-control-request-headers", "")
            response = PlainTextResponse("OK", headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": requested or "Authorization, Content-Type",
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                "Vary": "Origin",
            })
        await response(scope, receive, send)


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    """Plain-text refusal; a websocket closed before it is accepted makes the handshake fail with HTTP 403."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    await PlainTextResponse(message, status_code=status)(scope, receive, send)

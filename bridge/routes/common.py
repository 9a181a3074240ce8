"""Helpers every router uses: the bridge behind the app (its declared interface), and site ids checked against the caller's role."""

from __future__ import annotations

from fastapi import Request, WebSocket

from ..auth import ANONYMOUS_ADMIN, Principal
from ..context import BridgeContext
from ..http_util import check_site_id
from ..mesh_client import MeshClient
from ..state import BridgeState


def get_bridge(request: Request | WebSocket) -> BridgeContext:
    """The running bridge, as much of it as bridge/context.py declares."""
    return request.app.state.bridge  # type: ignore[no-any-return]


def get_mesh(request: Request | WebSocket) -> MeshClient:
    """The one way a route asks the mesh for something."""
    return request.app.state.mesh  # type: ignore[no-any-return]


def get_state(request: Request | WebSocket) -> BridgeState:
    return request.app.state.bridge_state  # type: ignore[no-any-return]


def get_principal(request: Request | WebSocket) -> Principal:
    state = request.scope.get("state") or {}
    principal = state.get("principal") if isinstance(state, dict) else None
    return principal or ANONYMOUS_ADMIN


def default_site(request: Request | WebSocket) -> str:
    principal = get_principal(request)
    if not principal.is_admin:
        return principal.username
    return get_bridge(request).common.own_site_id


def target_sites(request: Request | WebSocket, name: str = "siteId") -> list[str]:
    """``siteId=a,b`` (an empty value means the default site, §8.8 fixed), each allowed for the caller."""
    raw = request.query_params.get(name) or ""
    sites = [part.strip() for part in raw.split(",") if part.strip()] or [default_site(request)]
    principal = get_principal(request)
    for site in sites:
        check_site_id(site)
        principal.check_site(site)
    return sites


def target_site(request: Request | WebSocket, name: str = "siteId") -> str:
    return target_sites(request, name)[0]


def require_admin(request: Request | WebSocket, what: str) -> None:
    get_principal(request).require_admin(what)

"""API authentication as Rasa's server does it: a shared token, or HS256 JWTs with user.username/user.role.

An ``admin`` may do everything; a ``user`` may only make requests for the site named by its username, or for
the sites listed in the token's ``user.sites``. Without an auth token and a JWT secret every caller is an
anonymous admin (the bridge then listens on loopback by default): an anonymous admin may not change the
settings that make the mesh run programs (see protected_settings).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

ADMIN = "admin"
USER = "user"


class AuthError(Exception):
    """Authentication failed (401) or the caller may not do this (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    authenticated: bool = False  # True when a token proved it (not merely "auth is off")
    extra_sites: frozenset[str] = frozenset()  # a user token's ``user.sites`` besides its username

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def sites(self) -> frozenset[str] | None:
        """The sites this caller may see and act for; None means every site."""
        return None if self.is_admin else frozenset({self.username}) | self.extra_sites

    def may_use_site(self, site_id: str) -> bool:
        sites = self.sites
        return sites is None or site_id in sites

    def check_site(self, site_id: str) -> None:
        """A ``user`` may only act for its own sites (its username and ``user.sites``)."""
        if not self.may_use_site(site_id):
            allowed = ", ".join(repr(s) for s in sorted(self.sites or ()))
            raise AuthError(403, f"user {self.username!r} may only make requests for site(s) {allowed}, "
                                 f"not {site_id!r}")

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise AuthError(403, f"{what} needs the admin role; user {self.username!r} has role {self.role!r}")


ANONYMOUS_ADMIN = Principal("admin", ADMIN)
TOKEN_ADMIN = Principal("admin", ADMIN, authenticated=True)


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode_jwt(payload: dict[str, Any], secret: str) -> str:
    """An HS256 JWT (used by tests and by users who want to mint tokens without PyJWT)."""
    header = _b64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url_encode(signature)}"


def decode_jwt(token: str, secret: str, now: float | None = None) -> dict[str, Any]:
    """Verify an HS256 JWT and return its payload; raises AuthError(401) with the reason."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError(401, "invalid token: not a JWT")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        payload = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as err:
        raise AuthError(401, "invalid token: undecodable JWT") from err
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise AuthError(401, "invalid token: only HS256 JWTs are accepted")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise AuthError(401, "invalid token: bad signature")
    if not isinstance(payload, dict):
        raise AuthError(401, "invalid token: payload is not an object")
    now = time.time() if now is None else now
    exp = payload.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or now >= exp):
        raise AuthError(401, "invalid token: expired")
    nbf = payload.get("nbf")
    if nbf is not None and (not isinstance(nbf, int | float) or now < nbf):
        raise AuthError(401, "invalid token: not valid yet")
    return payload


def token_from(query: dict[str, str] | Any, authorization: str | None) -> str | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    token = query.get("token") if query is not None else None
    return token or None


def authenticate(token: str | None, auth_token: str | None, jwt_secret: str | None) -> Principal:
    """The caller behind ``token``; raises AuthError(401) when auth is on and the token is missing or wrong."""
    if not auth_token and not jwt_secret:
        return ANONYMOUS_ADMIN
    if not token:
        raise AuthError(401, "authentication required: pass ?token=... or 'Authorization: Bearer <token>'")
    if auth_token and hmac.compare_digest(token.encode(), auth_token.encode()):
        return TOKEN_ADMIN
    if jwt_secret and token.count(".") == 2:
        payload = decode_jwt(token, jwt_secret)
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("username"), str) or not user.get("username"):
            raise AuthError(401, "invalid token: payload needs user.username and user.role")
        role = user.get("role")
        if role not in (ADMIN, USER):
            raise AuthError(401, f"invalid token: user.role must be 'admin' or 'user', not {role!r}")
        sites = user.get("sites", [])
        if not isinstance(sites, list) or not all(isinstance(site, str) and site for site in sites):
            raise AuthError(401, "invalid token: user.sites must be a list of site ids")
        return Principal(user["username"], role, authenticated=True, extra_sites=frozenset(sites))
    raise AuthError(401, "invalid token")

"""Authentication modes (platform.md §3): who is calling, and which tenant they land in.

Community mode accepts everyone (tenant = Basic username, else ``community``), which is the
surprise the suite must reproduce (K4). Enterprise mode requires Basic ``clientId:secret``
on every call. The optional ``X-User-Token`` HS256 check reproduces "tampered token -> 401".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from . import clock
from .config import Settings

ENTERPRISE_MISSING = (
    "Authentication required: provide Authorization header with Basic auth (clientId:clientSecret)"
)
ENTERPRISE_BAD = "Authentication failed: invalid client credentials"


class AuthError(Exception):
    """Authentication failed; ``message`` is the authenticator's text (used by initialize)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Identity:
    """The caller as the platform sees it; scopes audit, overrides and decisions."""

    client_id: str
    tenant_id: str
    org_id: str
    user_email: str
    session_id: str | None = None


class HeaderView:
    """Case-insensitive header lookup over whatever mapping the transport has."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = {k.lower(): v for k, v in headers.items()}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name.lower(), default)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """Decode ``Authorization: Basic base64(id:secret)``; None when absent or not Basic."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        return None
    return client_id, secret


def _b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def verify_user_token(token: str, secret: str) -> dict[str, object]:
    """Validate an HS256 JWT signed with ``JWT_SECRET``; raise AuthError when it is not valid."""
    try:
        header_b64, payload_b64, sig_b64 = token.strip().split(".")
        header = json.loads(_b64url(header_b64))
        claims = json.loads(_b64url(payload_b64))
        signature = _b64url(sig_b64)
    except (ValueError, binascii.Error, json.JSONDecodeError) as exc:
        raise AuthError("invalid user token: malformed") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise AuthError("invalid user token: unsupported algorithm")
    expected = hmac.new(secret.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise AuthError("invalid user token: bad signature")
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp < clock.now():
        raise AuthError("invalid user token: expired")
    return claims


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def authenticate(self, headers: HeaderView, session_client: str | None = None) -> Identity:
        """Authenticate one request directly (sessions never replace auth, §2.5)."""
        creds = basic_credentials(headers.get("Authorization"))
        if self.settings.mode == "community":
            client_id = creds[0] if creds else "community"
        else:
            if not headers.get("Authorization"):
                raise AuthError(ENTERPRISE_MISSING)
            if creds is None:
                raise AuthError(ENTERPRISE_BAD)
            client_id, secret = creds
            known = self.settings.clients
            if known and not hmac.compare_digest(known.get(client_id, "\0invalid"), secret):
                raise AuthError(ENTERPRISE_BAD)
            if session_client is not None and session_client != client_id:
                raise AuthError("Authentication failed: session belongs to a different client")
        user_email = self._user(headers, client_id)
        return Identity(
            client_id=client_id, tenant_id=client_id, org_id=self.settings.org_id, user_email=user_email
        )

    def _user(self, headers: HeaderView, client_id: str) -> str:
        token = headers.get("X-User-Token")
        if token and self.settings.verify_user_token:
            claims = verify_user_token(token, self.settings.jwt_secret)
            email = claims.get("email")
            if isinstance(email, str) and email:
                return email
        if self.settings.trust_identity_headers:
            for name in ("X-User-Email", "X-User-ID"):
                value = headers.get(name)
                if value:
                    return value
        return f"mcp-client:{client_id}"

"""Every credential the suite creates or hands out, registered for masking as it is made.

A credential reaches the plugin and the platform in several encodings: the literal value,
base64 of it, ``Basic <base64>`` as the hooks send ``AXONFLOW_AUTH``, and for a
``client:secret`` pair the secret alone. :func:`register` records all of them at the moment
the value is created, so the report writers (redaction.py) and the session invariants
(checks/invariants.py) know every form before any of it can be written or leaked;
masking by header name alone misses a token printed into a block message or a test
parameter.

The suite's credentials are fixed fakes (no real service ever sees them), so a scan of
``reports/`` in another process (``python -m codex_conformance.reports.secret_scan``) knows them too.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import threading
from collections.abc import Callable

# Shorter values (tenant ids' "cs", a port) would mask ordinary words.
MIN_LENGTH = 8

_lock = threading.Lock()
_known: dict[str, str] = {}  # form -> what it is a form of (for scan reports)
_version = 0


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _decoded(text: str) -> str | None:
    """``text`` as base64 decoded to printable text, else None."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        decoded = raw.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if decoded.isprintable() and len(decoded) >= 4 else None


def forms(value: str) -> set[str]:
    """Every encoding in which the suite or the plugin may carry ``value``."""
    out = {value, _b64(value), "Basic " + _b64(value)}
    bare = value.removeprefix("Basic ").strip()
    if bare != value:
        out.add(bare)
    decoded = _decoded(bare)
    if decoded is not None:
        out.add(decoded)
        bare_pair = decoded
    else:
        bare_pair = bare
    client, sep, secret = bare_pair.partition(":")
    if sep and client and secret:
        out.add(secret)
    return {f for f in out if len(f) >= MIN_LENGTH}


def register(value: str, what: str = "credential") -> str:
    """Record ``value`` (all its forms) as a secret and return it unchanged."""
    global _version
    if not value:
        return value
    with _lock:
        for form in forms(value):
            _known.setdefault(form, what)
        _version += 1
    return value


def register_document(text: str) -> None:
    """Register the ``secret`` and token fields of a JSON document a service answered
    (a Community-SaaS registration, a recovery): values the suite did not choose."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return
    if isinstance(document, dict):
        for key in ("secret", "token", "license_token", "user_token"):
            if isinstance(document.get(key), str):
                register(document[key], f"{key} from a service")


def register_registration(response: dict[str, object]) -> None:
    """A Community-SaaS registration answer: the plugin's AXONFLOW_AUTH is then
    ``base64(tenant_id:secret)`` (plugin.md §6), a form of the secret no list holds."""
    tenant, secret = response.get("tenant_id"), response.get("secret")
    if isinstance(secret, str):
        register(secret, "the Community-SaaS registration secret")
        if isinstance(tenant, str):
            register(_b64(f"{tenant}:{secret}"), "AXONFLOW_AUTH from a Community-SaaS registration")


# A base64 run long enough to hold a credential (standard or URL-safe alphabet).
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


def _hidden(run: str, forms: dict[str, str]) -> str | None:
    """What ``run`` hides when it is base64 of text holding a known form, else None."""
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            text = decode(run + "=" * (-len(run) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        found = next((what for form, what in forms.items() if form in text), None)
        if found is not None:
            return found
    return None


# A piece of a token is a credential too: pytest's repr of a long argument keeps its head and
# tail around "..." (``'AXON-eyJhbG...W50X2lk...'``), so no whole form is left to find. A run
# of token characters holding FRAGMENT characters of a token-like form is masked whole. A
# fragment counts only when it mixes letter cases or digits: words a form happens to share
# with ordinary text (``demo-client``, ``codex-conformance``) never do.
FRAGMENT = 10
_TOKEN_RUN = re.compile(rf"[A-Za-z0-9+/=_.-]{{{FRAGMENT},}}")
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9+/=_.-]{20,}")
_fragment_cache: tuple[int, int, dict[str, str]] = (-1, 0, {})


def _mixed(piece: str) -> bool:
    return (
        sum(
            (
                any(c.islower() for c in piece),
                any(c.isupper() for c in piece),
                any(c.isdigit() for c in piece),
            )
        )
        >= 2
    )


def _fragments(forms: dict[str, str] | None) -> dict[str, str]:
    """Every FRAGMENT-long piece of every token-like form -> what it is a piece of; ``None``:
    the registered forms, cached until the next registration (every string a report masks
    asks, so rebuilding the pieces per call was most of a run's test-process CPU)."""
    global _fragment_cache
    key = (_version, 0) if forms is None else (_version, id(forms))
    if _fragment_cache[:2] == key:
        return _fragment_cache[2]
    if forms is None:
        forms = known()
    pieces: dict[str, str] = {}
    for form, what in forms.items():
        if _TOKEN_LIKE.fullmatch(form):
            for i in range(len(form) - FRAGMENT + 1):
                piece = form[i : i + FRAGMENT]
                if _mixed(piece):
                    pieces.setdefault(piece, what)
    _fragment_cache = (*key, pieces)
    return pieces


def _piece_of(run: str, pieces: dict[str, str]) -> str | None:
    return next(
        (
            pieces[run[i : i + FRAGMENT]]
            for i in range(len(run) - FRAGMENT + 1)
            if run[i : i + FRAGMENT] in pieces
        ),
        None,
    )


def find(text: str, forms: dict[str, str] | None = None, fragments: bool = False) -> set[str]:
    """What credentials ``text`` holds: any registered form (``forms`` overrides), base64 of
    text that holds one (``base64(tenant:secret)`` for any tenant), and with ``fragments`` a
    piece of a token left by a truncated repr (what a report file may hold)."""
    given = forms
    forms = known() if forms is None else forms
    found = {what for form, what in forms.items() if form in text}
    for run in _B64_RUN.findall(text):
        if run not in forms and (what := _hidden(run, forms)) is not None:
            found.add(what)
    if fragments:
        pieces = _fragments(given)
        found |= {w for run in _TOKEN_RUN.findall(text) if (w := _piece_of(run, pieces)) is not None}
    return found


def mask_encoded(text: str, mask: str, forms: dict[str, str] | None = None) -> str:
    """``text`` with every base64 run that hides a credential, and every run of token
    characters holding a piece of one, replaced by ``mask``."""
    if len(text) < FRAGMENT:  # too short for a piece of a token, let alone base64 of one
        return text
    hidden, piece = _judges(forms)
    text = _B64_RUN.sub(lambda m: mask if hidden(m.group(0)) is not None else m.group(0), text)
    return _TOKEN_RUN.sub(lambda m: mask if piece(m.group(0)) is not None else m.group(0), text)


Judge = Callable[[str], "str | None"]


def _judges(forms: dict[str, str] | None) -> tuple[Judge, Judge]:
    """What a base64 run hides and what a token run holds a piece of, for ``forms``; for
    the registered forms (``None``), answers kept until the next registration."""
    if forms is None:
        at = _version
        return functools.partial(_hidden_known, version_=at), functools.partial(_piece_known, version_=at)
    pieces = _fragments(forms)
    return functools.partial(_hidden, forms=forms), functools.partial(_piece_of, pieces=pieces)


# The registered forms as the maskers read them: one snapshot per registration, not a copy
# per masked string. The reports mask tens of thousands of strings a run (every string of
# every JSON artifact), and the same runs of token characters (call ids, paths, a request's
# id) come back in string after string; each run's answer is kept, keyed by the
# registration count it was found under, so a registration makes every answer stale.
_snapshot: tuple[int, dict[str, str]] = (-1, {})


def _known_at(version_: int) -> dict[str, str]:
    global _snapshot
    if _snapshot[0] != version_:
        _snapshot = (version_, known())
    return _snapshot[1]


@functools.lru_cache(maxsize=8192)
def _hidden_known(run: str, version_: int) -> str | None:
    return _hidden(run, _known_at(version_))


@functools.lru_cache(maxsize=8192)
def _piece_known(run: str, version_: int) -> str | None:
    return _piece_of(run, _fragments(None))


def known() -> dict[str, str]:
    """form -> description, a snapshot."""
    with _lock:
        return dict(_known)


def version() -> int:
    """Bumped by every registration: a cache of :func:`known` is stale when it changed."""
    return _version


def license_token(exp: int, tier: str = "pro") -> str:
    """An ``AXON-`` licence token whose JWT payload carries ``exp`` (the plugin reads only
    that, plugin.md §7), fixed for a given ``exp`` so any process can know it."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    payload = {"exp": exp, "tier": tier, "tenant_id": "cs_conformance"}
    return register(
        f"AXON-{part({'alg': 'EdDSA', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl", "licence token"
    )


# -- the suite's credentials ---------------------------------------------------------
# The platform's enterprise demo client (the real agent's default; refplatform/config.py
# DEFAULT_CLIENTS follows it).
DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = register("demo-secret", "the platform's demo client secret")
DEMO_BASIC = register(_b64(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"), "AXONFLOW_AUTH of the demo client")
# An AXONFLOW_AUTH value no platform knows: outbound checks see where it is sent.
NOT_A_SECRET = register(_b64("codex-conformance:not-a-secret-7d1e"), "an unknown AXONFLOW_AUTH")
# A per-user token (JWT shape; the reference platform verifies it with JWT_SECRET).
USER_TOKEN = register(
    "eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImRldkBleGFtcGxlLmNvbSJ9.c2lnbmF0dXJl", "a per-user token"
)
# The reference platform's default JWT secret (refplatform/config.py DEFAULT_JWT_SECRET).
JWT_SECRET = register(
    "axonflow-local-dev-jwt-secret-do-not-use-in-production", "the reference platform's JWT secret"
)
# What the Community-SaaS recorder issues as a tenant's secret (recorder --registration-secret).
REGISTRATION_SECRET = register(
    "cs-secret-3f9a1c7e5b2d4a6f8e0c1b3d5f7a9e2c", "the Community-SaaS registration secret"
)
# A secret a check stages as a registration body of its own (BOOT-200-NOT-STORED).
STAGED_REGISTRATION_SECRET = register("cs-secret-staged-91d3e7a5", "a staged registration secret")
# Licence tokens: valid until 2100, expired since 2020, and a second valid one.
VALID_LICENSE = license_token(4102444800)
OTHER_LICENSE = license_token(4133980800)
EXPIRED_LICENSE = license_token(1577836800)

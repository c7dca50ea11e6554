"""Who may change things, and what every response tells the browser.

Requests that change something (any method but GET, HEAD and OPTIONS) are refused:
- from another site, whatever the tokens: an `Origin` that is not this host, or a browser's
  `Sec-Fetch-Site: cross-site`, is a 403; a form-encoded, multipart or text/plain body (what a
  cross-site page can send without asking first) is a 415. A request without `Origin` and
  without a body (`curl -X POST .../launch`) is not a browser's cross-site request, and passes;
- without a valid `Authorization: Bearer` token when `API_TOKENS` is set: a 401 whose
  `WWW-Authenticate` asks for one. Tokens are compared in constant time.

Every response, errors and static files included, forbids framing and sends no referrer, and
carries a Content Security Policy: the page and the offline docs may run their own scripts
only; an answer of the API (JSON, never a document to render) may load nothing at all, the
policy OWASP gives for REST services, a quarter of the page's bytes on every response.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIMPLE_BODIES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
"""The media types a page may POST to another site without a preflight: what CSRF uses."""

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_POLICY = (
    # The docs pages start Scalar and Swagger UI with a script inside the page, and Swagger
    # UI's bundle compiles code at run time; still nothing from another host.
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_PATH = "/schema"
PAGE_PATH = "/"
STATIC_PATH = "/static/"

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
PAGE_HEADERS = [*_COMMON, (b"content-security-policy", PAGE_POLICY.encode())]
DOCS_HEADERS = [*_COMMON, (b"content-security-policy", DOCS_POLICY.encode())]
API_HEADERS = [*_COMMON, (b"content-security-policy", API_POLICY.encode())]


async def security_headers(message: Message, scope: Scope) -> None:
    """Litestar's `before_send` hook: adds the headers to every response as it starts."""
    if message["type"] == "http.response.start":
        headers = message.setdefault("headers", [])
        headers.extend(headers_for(scope.get("path", "")))  # type: ignore[attr-defined]


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The page and its files, the docs, or the API."""
    if path == PAGE_PATH or path.startswith(STATIC_PATH):
        return PAGE_HEADERS
    if path == DOCS_PATH or path.startswith(DOCS_PATH + "/"):
        return DOCS_HEADERS
    return API_HEADERS


def guard_writes(tokens: Sequence[str]) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware refusing cross-site and (with tokens) unauthenticated writes."""
    secrets = [token.encode() for token in tokens]

    def middleware_factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == ScopeType.HTTP and scope["method"] not in SAFE_METHODS:
                check(Headers.from_scope(scope), secrets)
            await app(scope, receive, send)

        return middleware

    return middleware_factory


def check(headers: Headers, secrets: list[bytes]) -> None:
    origin = headers.get("origin")
    if origin is not None and not _same_host(origin, headers.get("host")):
        raise HTTPException(
            status_code=HTTP_403_FORBIDDEN,
            detail="A request from another site (its Origin is not this host) may not change "
            "anything here.",
        )
    if headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(
            status_code=HTTP_403_FORBIDDEN,
            detail="A request from another site may not change anything here.",
        )
    declared = headers.get("content-type")
    if declared is not None and declared.split(";")[0].strip().lower() in SIMPLE_BODIES:
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"A body of {declared.split(';')[0].strip()} is not accepted here; send "
            "application/json, or no body.",
        )
    if secrets and not _authorized(headers.get("authorization"), secrets):
        raise HTTPException(
            status_code=HTTP_401_UNAUTHORIZED,
            detail="This needs a token: send `Authorization: Bearer <token>` (one of API_TOKENS).",
            headers={"WWW-Authenticate": 'Bearer realm="experiments"'},
        )


def _same_host(origin: str, host: str | None) -> bool:
    if host is None or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == host.lower()


def _authorized(authorization: str | None, secrets: list[bytes]) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    offered = given.strip().encode()
    # Every token is compared, each in constant time: the answer's time says nothing of
    # which one, or how much of one, matched.
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(offered, secret)
    return matched

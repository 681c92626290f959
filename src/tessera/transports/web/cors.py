"""Cross-origin reads for browser clients served from elsewhere (a web GIS client, a
partner's dashboard): CORS on the REST API and the OGC API, for the origins the settings
allow (``cors_origins``), and nowhere else (the map, its files and the docs page stay
same-origin).

Starlette's CORSMiddleware does the work. It sits before authentication: a preflight
(OPTIONS with Access-Control-Request-Method) never carries the token, so it is answered
there and then: 200 with the allowed methods and headers for an allowed origin, 400
without any Access-Control-Allow-Origin otherwise (and with no CORS header at all when
no origin is allowed, the default). Every other request still goes
through authentication exactly as before: CORS only lets a browser page read what its
token already may (a refusal included, so the page can tell a missing token from a
network failure). Tokens travel in the Authorization header, never in cookies, so
credentialed CORS is never offered, and ``"*"`` answers any origin with
``Access-Control-Allow-Origin: *``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ALLOWED_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "DELETE")
ALLOWED_HEADERS: Final = ("Authorization", "Content-Type", "Idempotency-Key")
# Response headers a page may read beyond the safelisted ones: an export's file name, a
# new overlay's address, how long to wait after a 429, and what a 401 asks for.
EXPOSED_HEADERS: Final = ("Content-Disposition", "Location", "Retry-After", "WWW-Authenticate")
# How long a browser may keep a preflight's answer.
PREFLIGHT_MAX_AGE_S: Final = 600


class ScopedCORS:
    """CORS for paths under ``prefixes`` (each whole: ``/ogc`` and ``/ogc/...``, never
    ``/ogcx``); everything else passes by untouched. With no origin allowed, a preflight
    there is refused (400) and nothing else is touched."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str], prefixes: Sequence[str]) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.cors: ASGIApp | None = None
        if origins:
            self.cors = CORSMiddleware(
                app,
                allow_origins=tuple(origins),
                allow_methods=ALLOWED_METHODS,
                allow_headers=ALLOWED_HEADERS,
                expose_headers=EXPOSED_HEADERS,
                allow_credentials=False,
                max_age=PREFLIGHT_MAX_AGE_S,
            )

    def covers(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.covers(scope["path"]):
            await self.app(scope, receive, send)
        elif self.cors is not None:
            await self.cors(scope, receive, send)
        elif is_preflight(scope):
            # No origin allowed: refused as one from a disallowed origin is, without a
            # single CORS header (a 401 would tell the page to find a token).
            await NO_CORS(scope, receive, send)
        else:
            await self.app(scope, receive, send)


NO_CORS: Final = PlainTextResponse("Disallowed CORS origin", status_code=400)


def is_preflight(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return (
        scope["method"] == "OPTIONS"
        and "origin" in headers
        and "access-control-request-method" in headers
    )

"""The HTTP application: REST API, stream, OpenAPI document, docs page and the map."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.core.model import Role
from tessera.transports.web import (
    account,
    api,
    export,
    federation_api,
    feeds_api,
    imagery_api,
    imports,
    overlays,
    passes_api,
)
from tessera.transports.web.alert_routes import ALERT_POLICIES, alert_routes
from tessera.transports.web.auth import PUBLIC, Authenticate, Policy, requires, route_policies
from tessera.transports.web.chat_api import CHAT_POLICIES, chat_routes
from tessera.transports.web.context import Served
from tessera.transports.web.cors import ScopedCORS
from tessera.transports.web.forwarded import ForwardedClient, TrustedProxies
from tessera.transports.web.ogc.routes import OGC_POLICIES, ogc_routes
from tessera.transports.web.openapi import openapi_document
from tessera.transports.web.responses import JSONResponse
from tessera.transports.web.stream import stream
from tessera.transports.web.tiles import TILE_POLICIES, tile_routes

API = "/api/v1"
OGC = "/ogc"


def static_dir() -> Path:
    return Path(str(files("tessera.web") / "static"))


# Who may call each route, by route name: every route must have an entry (the
# application refuses to build otherwise, and the tests derive their checks from it).
POLICIES: Final[dict[str, Policy]] = {
    "post_reports": requires(Role.REPORTER),
    "get_report": requires(Role.VIEWER),
    "get_pictures": requires(Role.VIEWER),
    "get_tracks": requires(Role.VIEWER),
    "get_track": requires(Role.VIEWER),
    "get_health": PUBLIC,
    "get_status": requires(Role.ADMIN),
    "get_feeds": requires(Role.VIEWER),
    "get_federation": requires(Role.OPERATOR),
    "get_passes": requires(Role.VIEWER),
    "get_satellites": requires(Role.VIEWER),
    "get_imagery": requires(Role.VIEWER),
    "stream": requires(Role.VIEWER),
    "post_login": PUBLIC,
    "get_me": requires(*Role),
    "get_audit": requires(Role.ADMIN),
    "get_principals": requires(Role.ADMIN),
    "get_export": requires(Role.VIEWER),
    "get_overlays": requires(Role.VIEWER),
    "get_overlay": requires(Role.VIEWER),
    "post_overlay": requires(Role.REPORTER, Role.OPERATOR),
    "put_overlay": requires(Role.REPORTER, Role.OPERATOR),
    "delete_overlay": requires(Role.REPORTER, Role.OPERATOR),
    "post_import": requires(Role.REPORTER, Role.OPERATOR),
    "openapi": requires(*Role),
    "docs": PUBLIC,
    "map": PUBLIC,
    "static": PUBLIC,
    **OGC_POLICIES,
    **TILE_POLICIES,
    **ALERT_POLICIES,
    **CHAT_POLICIES,
}


def api_routes() -> list[BaseRoute]:
    """Every route of /api/v1; the OpenAPI document is checked against this list."""
    return [
        Route(f"{API}/reports", api.post_reports, methods=["POST"], name="post_reports"),
        Route(f"{API}/reports/{{report_id}}", api.get_report, methods=["GET"], name="get_report"),
        Route(f"{API}/pictures", api.get_pictures, methods=["GET"], name="get_pictures"),
        Route(f"{API}/tracks", api.get_tracks, methods=["GET"], name="get_tracks"),
        Route(f"{API}/tracks/{{track_id}}", api.get_track, methods=["GET"], name="get_track"),
        Route(f"{API}/health", api.get_health, methods=["GET"], name="get_health"),
        Route(f"{API}/status", api.get_status, methods=["GET"], name="get_status"),
        Route(f"{API}/feeds", feeds_api.get_feeds, methods=["GET"], name="get_feeds"),
        Route(
            f"{API}/federation",
            federation_api.get_federation,
            methods=["GET"],
            name="get_federation",
        ),
        Route(f"{API}/passes", passes_api.get_passes, methods=["GET"], name="get_passes"),
        Route(
            f"{API}/satellites", passes_api.get_satellites, methods=["GET"], name="get_satellites"
        ),
        Route(f"{API}/imagery", imagery_api.get_imagery, methods=["GET"], name="get_imagery"),
        Route(f"{API}/login", account.post_login, methods=["POST"], name="post_login"),
        Route(f"{API}/me", account.get_me, methods=["GET"], name="get_me"),
        Route(f"{API}/audit", account.get_audit, methods=["GET"], name="get_audit"),
        Route(f"{API}/principals", account.get_principals, methods=["GET"], name="get_principals"),
        Route(f"{API}/export", export.get_export, methods=["GET"], name="get_export"),
        Route(f"{API}/imports", imports.post_import, methods=["POST"], name="post_import"),
        Route(f"{API}/overlays", overlays.get_overlays, methods=["GET"], name="get_overlays"),
        Route(f"{API}/overlays", overlays.post_overlay, methods=["POST"], name="post_overlay"),
        Route(
            f"{API}/overlays/{{overlay_id}}",
            overlays.get_overlay,
            methods=["GET"],
            name="get_overlay",
        ),
        Route(
            f"{API}/overlays/{{overlay_id}}",
            overlays.put_overlay,
            methods=["PUT"],
            name="put_overlay",
        ),
        Route(
            f"{API}/overlays/{{overlay_id}}",
            overlays.delete_overlay,
            methods=["DELETE"],
            name="delete_overlay",
        ),
        WebSocketRoute(f"{API}/stream", stream, name="stream"),
        *alert_routes(API),
        *chat_routes(API),
    ]


CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # MapLibre and Swagger UI set style attributes; no stylesheet comes from elsewhere.
        "style-src 'self' 'unsafe-inline'",
        # milsymbol's canvases and MapLibre's images become data: and blob: URLs.
        "img-src 'self' data: blob:",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class SecureHeaders:
    """Headers a reviewer expects on every response (pure ASGI: the stream passes by)."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    )
    # What the API answers is for its caller only: no cache keeps it.
    API_HEADERS = ((b"cache-control", b"no-store"),)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        extra: tuple[tuple[bytes, bytes], ...] = self.HEADERS
        if scope["path"].startswith((API, OGC)):
            extra = (*extra, *self.API_HEADERS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_asgi(tessera: Served) -> Starlette:
    static = static_dir()

    async def index(_request: Request) -> Response:
        return FileResponse(static / "index.html")

    async def docs(_request: Request) -> Response:
        return FileResponse(static / "docs.html")

    async def openapi(_request: Request) -> Response:
        public = {name for name, policy in POLICIES.items() if policy.public}
        return JSONResponse(openapi_document(api_routes(), public))

    routes: list[BaseRoute] = [
        *api_routes(),
        Route(f"{API}/openapi.json", openapi, methods=["GET"], name="openapi"),
        Route(f"{API}/docs", docs, methods=["GET"], name="docs"),
        *ogc_routes(),
        *tile_routes(),
        Route("/", index, methods=["GET"], name="map"),
        Mount("/static", app=StaticFiles(directory=static, check_dir=False), name="static"),
    ]
    guarded = route_policies(routes, POLICIES)
    app = Starlette(
        routes=routes,
        middleware=[
            # First: everything after it sees the client a trusted proxy names.
            Middleware(ForwardedClient, proxies=TrustedProxies(tessera.settings.trusted_proxies)),
            Middleware(SecureHeaders),
            # Before authentication: a preflight carries no token, and is answered here.
            Middleware(ScopedCORS, origins=tessera.settings.cors_origins, prefixes=(API, OGC)),
            Middleware(Authenticate, gate=tessera.gate, routes=guarded),
        ],
    )
    app.state.tessera = tessera
    return app

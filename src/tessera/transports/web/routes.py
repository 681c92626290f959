"""The HTTP application: REST API, stream, OpenAPI document, docs page and the map."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.transports.web import api
from tessera.transports.web.openapi import openapi_document
from tessera.transports.web.responses import JSONResponse
from tessera.transports.web.stream import stream

if TYPE_CHECKING:
    from tessera.app import Tessera

API = "/api/v1"


def static_dir() -> Path:
    return Path(str(files("tessera.web") / "static"))


def api_routes() -> list[BaseRoute]:
    """Every route of /api/v1; the OpenAPI document is checked against this list."""
    return [
        Route(f"{API}/reports", api.post_reports, methods=["POST"], name="post_reports"),
        Route(f"{API}/reports/{{report_id}}", api.get_report, methods=["GET"], name="get_report"),
        Route(f"{API}/pictures", api.get_pictures, methods=["GET"], name="get_pictures"),
        Route(f"{API}/tracks", api.get_tracks, methods=["GET"], name="get_tracks"),
        Route(f"{API}/tracks/{{track_id}}", api.get_track, methods=["GET"], name="get_track"),
        Route(f"{API}/health", api.get_health, methods=["GET"], name="get_health"),
        WebSocketRoute(f"{API}/stream", stream, name="stream"),
    ]


class SecureHeaders:
    """Headers a reviewer expects on every response (pure ASGI: the stream passes by)."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_asgi(tessera: Tessera) -> Starlette:
    static = static_dir()

    async def index(_request: Request) -> Response:
        return FileResponse(static / "index.html")

    async def docs(_request: Request) -> Response:
        return FileResponse(static / "docs.html")

    async def openapi(_request: Request) -> Response:
        return JSONResponse(openapi_document(api_routes()))

    routes: list[BaseRoute] = [
        *api_routes(),
        Route(f"{API}/openapi.json", openapi, methods=["GET"], name="openapi"),
        Route(f"{API}/docs", docs, methods=["GET"], name="docs"),
        Route("/", index, methods=["GET"], name="map"),
        Mount("/static", app=StaticFiles(directory=static, check_dir=False), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(SecureHeaders)])
    app.state.tessera = tessera
    return app

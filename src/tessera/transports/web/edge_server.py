"""uvicorn on a socket bound by the caller, started and stopped from our own event loop,
with the limits every Tessera HTTP port has (``http_protocol.py``): the map and API's port
and the TAK enrollment port alike."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from tessera.settings import Settings
from tessera.transports.web.http_protocol import edge_protocol


def edge_config(
    app: ASGIApp,
    settings: Settings,
    context: ssl.SSLContext | None,
    *,
    log_level: str = "warning",
    **extra: Any,
) -> uvicorn.Config:
    """uvicorn's settings for ``app``: TLS with ``context`` if given."""
    return uvicorn.Config(
        app,
        lifespan="off",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=3,
        http=edge_protocol(settings.http_header_timeout_s),
        timeout_keep_alive=settings.http_keep_alive_s,
        limit_concurrency=settings.http_max_connections,
        # Whose X-Forwarded-For to believe is the application's call (trusted_proxies):
        # uvicorn's own would believe anyone's from 127.0.0.1.
        proxy_headers=False,
        ssl_context_factory=None if context is None else (lambda _config, _default: context),
        **extra,
    )


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handlers: stopping is the caller's business, and uvicorn
    would re-raise the signal once it has shut down."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class EdgeServer:
    """One uvicorn server on ``sock``; ``what`` names it in errors."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, what: str) -> None:
        self._server = _Server(config)
        self._sock = sock
        self._what = what
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError(f"the {self._what} did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        await self.wait()

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

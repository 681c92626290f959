"""Serving a built Tessera over HTTP (or HTTPS) with uvicorn, on sockets bound here so
that port 0 works and the bound ports can be announced."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from tessera.app import Tessera
from tessera.settings import Settings
from tessera.transports.web.edge_server import EdgeServer, edge_config

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer
    from tessera.transports.enrollment.server import EnrollmentServer
    from tessera.transports.links import Links

log = logging.getLogger(__name__)


def tune_collector() -> None:
    """Garbage collection for a long-running process holding a large live heap."""
    gc.set_threshold(50_000, 20, 20)


class FusionFailedError(RuntimeError):
    """Fusion died while replaying the journal: the server stopped (the log says why)."""


class BindError(OSError):
    """The address could not be bound; the message says which and what to do."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio turns Nagle's algorithm off only on sockets
    # that say so, and a response written as headers then body would otherwise wait for
    # the client's delayed acknowledgement (40 ms a request on Linux).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = " (a port of 0 picks a free one)" if port else ""
        raise BindError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def announce(kind: str, sock: socket.socket) -> str:
    """Print ``listening KIND HOST:PORT`` (scripts read it) and return ``HOST:PORT``."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"listening {kind} {shown}:{port}", flush=True)
    return f"{shown}:{port}"


def https_context(settings: Settings) -> ssl.SSLContext | None:
    """TLS for the HTTP port if the settings ask for it: with their certificate, or else
    the deployment's (created with its CA on a first start, as for CoT)."""
    if not settings.https:
        return None
    # Imported here: plain HTTP never loads the certificate code.
    from tessera.security import tls

    if settings.http_tls_cert is not None and settings.http_tls_key is not None:
        cert, key = settings.http_tls_cert, settings.http_tls_key
    else:
        directory = tls.ensure_deployment(settings.data_dir, hosts=(settings.host,))
        cert, key = directory / tls.SERVER_CERT_FILE, directory / tls.SERVER_KEY_FILE
    try:
        return tls.https_context(cert, key)
    except OSError as exc:  # ssl.SSLError included
        raise ValueError(f"cannot serve HTTPS with {cert} and {key}: {exc}") from None


class HttpServer(EdgeServer):
    """uvicorn around Tessera's ASGI app, started and stopped from our own event loop;
    HTTPS if the settings ask for it (``scheme`` says which)."""

    def __init__(
        self, tessera: Tessera, sock: socket.socket, *, log_level: str = "warning"
    ) -> None:
        settings = tessera.settings
        context = https_context(settings)
        self.scheme = "http" if context is None else "https"
        config = edge_config(
            tessera.asgi, settings, context, log_level=log_level, ws_max_size=1 << 20
        )
        super().__init__(config, sock, "HTTP server")


async def _report_caught_up(
    tessera: Tessera, announced: asyncio.Event, stop: asyncio.Event
) -> bool:
    """Print ``fusion caught up`` once the journal's tail is replayed (after the listening
    lines); whether it was. Fusion dying stops the server."""
    try:
        await tessera.caught_up()
    except Exception:
        log.exception("fusion failed while replaying the journal")
        stop.set()
        return False
    # What the replay built lives as long as the server: keep it out of every later
    # collection, so a long-lived heap does not add pauses to the stream's latency.
    gc.freeze()
    await announced.wait()
    print("fusion caught up", flush=True)
    return True


async def serve_until_stopped(
    tessera: Tessera,
    *,
    on_ready: Callable[[str], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Start everything, announce the URL, run until SIGINT/SIGTERM, then stop in order:
    the HTTP server (draining requests), whatever ``on_ready`` started, fusion, journal."""
    settings = tessera.settings
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if settings.postgis_dsn is not None:
        from tessera.security.shared_ca import install_for_serving

        # The deployment's CA and this process's server certificate, before any TLS.
        await install_for_serving(settings)
    announced = asyncio.Event()
    sock = bind(settings.host, settings.http_port)
    try:
        # Before the pictures are rebuilt: a certificate that cannot be used stops it now.
        server = HttpServer(tessera, sock)
    except BaseException:
        sock.close()
        raise
    # Collect the young generation less often from the start: rebuilding pictures makes
    # millions of objects that live on, and full collections of them free nothing.
    tune_collector()
    # Restores the last checkpoint; the journal after it is replayed in the background
    # while the restored picture is served and reports are taken.
    await tessera.start(catch_up=False)
    extra: asyncio.Task[None] | None = None
    cot: CotServer | None = None
    enroll: EnrollmentServer | None = None
    links: Links | None = None
    # A gateway does not fuse: it has nothing to catch up.
    fusion = asyncio.create_task(
        _report_caught_up(tessera, announced, stop)
        if tessera.role != "gateway"
        else announced.wait(),
        name="fusion-caught-up",
    )
    try:
        await server.start()
        url = f"{server.scheme}://{announce(server.scheme, sock)}"
        # Imported here: commands that never serve (fuse, score, users) need none of it.
        from tessera.transports.cot_stream.listeners import start_cot
        from tessera.transports.enrollment.server import start_enrollment
        from tessera.transports.links import start_links

        cot = await start_cot(tessera, bind, announce)
        enroll = await start_enrollment(tessera, bind, announce)
        # Feeds, federation, TAK server links, imagery: on a gateway, under the links lease.
        links = await start_links(tessera, bind, announce)
        print(f"Tessera is serving the map at {url}/", file=sys.stderr, flush=True)
        # Only now: scripts read the listening lines first, in their order.
        announced.set()
        if on_ready is not None:
            extra = asyncio.create_task(on_ready(url))
        await stop.wait()
        print("\nstopping", file=sys.stderr, flush=True)
    finally:
        if links is not None:
            await links.stop()
        if enroll is not None:
            await enroll.stop()
        if cot is not None:
            await cot.stop()
        await server.stop()
        if extra is not None:
            extra.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await extra
        fusion.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fusion
        await tessera.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    if fusion.done() and not fusion.cancelled() and fusion.result() is False:
        raise FusionFailedError("fusion failed while replaying the journal (see the log)")

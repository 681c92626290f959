"""Federation running: the listener partners dial, one sender per link with a peer to
dial, started with the server and stopped with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from tessera.federation.chat_outbox import ChatOutbox
from tessera.federation.outbox import Outbox
from tessera.federation.state import FederationState
from tessera.federation.status import LinkStatus
from tessera.transports.federation.receiver import Receiver
from tessera.transports.federation.sender import Sender
from tessera.transports.federation.tls import dialling_context, listener_context

if TYPE_CHECKING:
    from tessera.transports.federation.host import Federating

log = logging.getLogger(__name__)
STATE_FILE = "federation.sqlite3"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


class Federation:
    def __init__(self, tessera: Federating) -> None:
        self.tessera = tessera
        settings = tessera.settings
        self.state = FederationState(settings.data_dir / STATE_FILE)
        self.bound: tuple[str, int] | None = None
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[Any]] = set()
        for link in settings.federation:
            tessera.federation.links[link.name] = LinkStatus(link)

    async def start(self, sock: socket.socket | None = None, *, dial: bool = True) -> None:
        """Listen (on ``sock``, or the settings' port if given) and, with ``dial``, dial
        the peers (else ``dial_all`` does, later: a gateway holding the links lease)."""
        tessera, settings = self.tessera, self.tessera.settings
        if sock is not None or settings.federation_port is not None:
            context = (
                listener_context(settings.data_dir, settings.federation)
                if settings.federation_tls
                else None
            )
            receiver = Receiver(tessera, self.state, tessera.federation)
            handle = self._tracked(receiver.handle)
            if sock is None:
                self._server = await asyncio.start_server(
                    handle,
                    settings.federation_host,
                    settings.federation_port,
                    ssl=context,
                    limit=1 << 20,
                )
            else:
                self._server = await asyncio.start_server(
                    handle, sock=sock, ssl=context, limit=1 << 20
                )
            host, port = self._server.sockets[0].getsockname()[:2]
            self.bound = (host, port)
        if dial:
            self.dial_all(tessera)

    def dial_all(self, tessera: Federating) -> None:
        """Dial every link's peer, writing through ``tessera`` (its journal may be fenced)."""
        for link in tessera.settings.federation:
            if link.peer is not None:
                self.dial(link.name, tessera)

    async def stop_dialling(self) -> None:
        """Stop every dialled link (the listener goes on)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for link in self.tessera.settings.federation:
            if link.peer is not None:
                status = self.tessera.federation.links[link.name]
                status.state, status.connected = "stopped", False

    def _tracked(self, handle: Handler) -> Handler:
        """``handle`` run as a task this service cancels when it stops (a server closing
        leaves its connections' handlers running)."""

        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._handlers.add(task)
            try:
                await handle(reader, writer)
            finally:
                self._handlers.discard(task)

        return tracked

    def dial(self, name: str, tessera: Federating | None = None) -> None:
        """Start dialling link ``name``'s peer (writing through ``tessera``, else the
        service's own)."""
        tessera = self.tessera if tessera is None else tessera
        settings = tessera.settings
        link = next(link for link in settings.federation if link.name == name)
        node = settings.federation_node or ""
        context = (
            dialling_context(settings.data_dir, link, node) if settings.federation_tls else None
        )
        outbox = Outbox(link, node, tessera.journal, self.state, tessera.scheme)
        chat_outbox = ChatOutbox(link, node, tessera.chat, tessera.scheme)
        status = tessera.federation.links[link.name]
        sender = Sender(tessera, link, status, outbox, chat_outbox, context)
        self._tasks.append(asyncio.create_task(sender.run(), name=f"federation-{link.name}"))

    async def stop(self) -> None:
        await self.stop_dialling()
        if self._server is not None:
            self._server.close()
        for handler in list(self._handlers):
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await self._server.wait_closed()
        for status in self.tessera.federation.links.values():
            status.state, status.connected = "stopped", False
        self.state.close()


async def start_federation(
    tessera: Federating,
    bind: Callable[[str, int], socket.socket],
    announce: Callable[[str, socket.socket], str],
    *,
    dial: bool = True,
) -> Federation | None:
    """Start the settings' federation, its listener on a socket bound here (port 0
    works) and announced as ``listening federation HOST:PORT``; None without links (or
    in a fusion worker). Without ``dial`` the peers are left to ``dial_all``."""
    settings = tessera.settings
    if not settings.federation or tessera.role == "fusion":
        return None
    sock = None
    if settings.federation_port is not None:
        sock = bind(settings.federation_host, settings.federation_port)
        announce("federation", sock)
    federation = Federation(tessera)
    try:
        await federation.start(sock, dial=dial)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    return federation

"""A fake TAK server for the link's tests: it accepts the link, keeps every event it is
sent, and sends what a test tells it to (as FreeTAKServer does, it can echo each event
back to its sender)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any

from tessera.codecs.cot import CotEvent, parse_event
from tessera.codecs.cot_framing import XmlEventSplitter

WAIT_S = 20.0


class Connection:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        # Over TLS: the client certificate's subject, as ``ssl`` gives it.
        self.peer_subject: Any = (writer.get_extra_info("peercert") or {}).get("subject")
        self.events: list[CotEvent] = []

    def send(self, data: bytes) -> None:
        self.writer.write(data)


class FakeTakServer:
    def __init__(self, *, echo: bool = False, tls: ssl.SSLContext | None = None) -> None:
        self.echo = echo
        self.tls = tls
        self.connections: list[Connection] = []
        # Close each new connection once it has sent this many events (None: never).
        self.close_after: int | None = None
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(writer)
        self.connections.append(connection)
        splitter = XmlEventSplitter()
        try:
            while data := await reader.read(65536):
                for document in splitter.feed(data):
                    connection.events.append(parse_event(document))
                    if self.echo:
                        writer.write(document)
                if self.close_after is not None and len(connection.events) >= self.close_after:
                    break
        finally:
            writer.close()

    async def __aenter__(self) -> FakeTakServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for connection in self.connections:
            connection.writer.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    @property
    def address(self) -> str:
        return f"{'tls' if self.tls else 'tcp'}://127.0.0.1:{self.port}"


async def until(check: Callable[[], Any], what: str) -> None:
    """Wait (bounded) until ``check()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not check():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)

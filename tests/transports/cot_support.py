"""A live server with its CoT ports, and small TAK clients of our own for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import takproto

from tessera.codecs.cot import CotEvent, parse_event
from tessera.codecs.cot_framing import TakStreamFramer, XmlEventSplitter
from tessera.codecs.cot_proto import decode_payload
from tessera.transports.cot_stream.listeners import start_cot
from tessera.transports.cot_stream.server import CotServer
from tests.support import Live, live_server


@dataclass
class LiveCot:
    live: Live
    cot: CotServer
    ports: dict[str, int] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def live_cot(data_dir: Path, **overrides: Any) -> AsyncIterator[LiveCot]:
    """``live_server`` plus the CoT listeners the settings ask for, on free ports."""
    overrides.setdefault("cot_tls_port", 0)
    async with live_server(data_dir, **overrides) as live:
        ports: dict[str, int] = {}

        def bind(host: str, port: int) -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.bind((host, port))
            sock.listen(512)
            sock.setblocking(False)
            return sock

        def announce(kind: str, sock: socket.socket) -> str:
            ports[kind] = sock.getsockname()[1]
            return ""

        cot = await start_cot(live.tessera, bind, announce)
        assert cot is not None
        try:
            yield LiveCot(live, cot, ports)
        finally:
            await cot.stop()


class CotReader:
    """Reads a CoT stream in either form and keeps every event, parsed with our codec (or
    takproto for protobuf, where ``raw_protobuf`` keeps takproto's messages)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.events: list[CotEvent] = []
        self.raw_protobuf: list[Any] = []
        self.protobuf = False
        self._xml = XmlEventSplitter(1 << 20)
        self._frames = TakStreamFramer(1 << 20)
        self._arrived = asyncio.Event()

    async def run(self) -> None:
        while data := await self.reader.read(1 << 16):
            if self.protobuf:
                for payload in self._frames.feed(data):
                    self.raw_protobuf.append(
                        takproto.parse_proto(b"\xbf" + _varint(len(payload)) + payload)
                    )
                    self.events.append(decode_payload(payload))
            else:
                self.events.extend(parse_event(doc) for doc in self._xml.feed(data))
            self._arrived.set()

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> CotEvent:
        async def find() -> CotEvent:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)

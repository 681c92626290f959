"""A live server with its CoT ports, and small TAK clients of our own for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import takproto

from tessera.codecs.cot import CotEvent, parse_event
from tessera.codecs.cot_proto import decode_payload
from tessera.core.model import Principal
from tessera.relay.base import CotRelay
from tessera.transports.cot_stream.listeners import start_cot
from tessera.transports.cot_stream.server import CotServer
from tests.support import Live, live_server


@dataclass
class LiveCot:
    live: Live
    cot: CotServer
    ports: dict[str, int] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def live_cot(
    data_dir: Path,
    principals: Sequence[Principal] = (),
    *,
    relay: CotRelay | None = None,
    **overrides: Any,
) -> AsyncIterator[LiveCot]:
    """``live_server`` plus the CoT listeners the settings ask for, on free ports; the
    ``principals`` exist before the listeners start. ``relay`` (if given) replaces the
    one the settings chose: servers in one process act as a deployment's gateways."""
    overrides.setdefault("cot_tls_port", 0)
    async with live_server(data_dir, **overrides) as live:
        for principal in principals:
            await live.grant(principal)
        if relay is not None:
            live.tessera.cot_relay = relay
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
    """Reads a CoT stream, XML or TAK protocol version 1 or both in turn (a server offers
    the protocol in XML before a client switches), and keeps every event: parsed with our
    codec, and for protobuf also as takproto's own message (``raw_protobuf``)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.events: list[CotEvent] = []
        self.raw_protobuf: list[Any] = []
        self._buffer = b""
        self._arrived = asyncio.Event()

    async def run(self) -> None:
        while data := await self.reader.read(1 << 16):
            self._buffer += data
            self._parse()
            self._arrived.set()

    def _parse(self) -> None:
        while True:
            self._buffer = self._buffer.lstrip()
            if not self._buffer:
                return
            if self._buffer[0] == 0xBF:
                frame = _whole_frame(self._buffer)
                if frame is None:
                    return
                self._buffer = self._buffer[len(frame) :]
                self.raw_protobuf.append(takproto.parse_proto(frame))
                self.events.append(decode_payload(frame[len(frame) - _payload_length(frame) :]))
                continue
            end = self._buffer.find(b"</event>")
            if end < 0:
                return
            document, self._buffer = self._buffer[: end + 8], self._buffer[end + 8 :]
            self.events.append(parse_event(document))

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> CotEvent:
        async def find() -> CotEvent:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout)


def _whole_frame(buffer: bytes) -> bytes | None:
    length, used = _read_varint(buffer, 1)
    if length is None or len(buffer) < 1 + used + length:
        return None
    return buffer[: 1 + used + length]


def _payload_length(frame: bytes) -> int:
    length, _ = _read_varint(frame, 1)
    assert length is not None
    return length


def _read_varint(buffer: bytes, start: int) -> tuple[int | None, int]:
    value = shift = 0
    for index in range(start, min(len(buffer), start + 10)):
        byte = buffer[index]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, index - start + 1
    return None, 0

"""Splitting CoT streams into events and frames: bytes in, whole documents or payloads out.

* ``XmlEventSplitter``: a TCP stream of XML events, each ``<event>…</event>`` returned as
  one document (a declaration before it, and any bytes between events, are dropped).
* ``TakStreamFramer``: TAK protocol version 1 stream framing, ``0xbf``, a varint length,
  then that many bytes of payload.
* ``parse_mesh_frame`` / ``encode_mesh_frame``: the mesh (UDP) header ``bf 01 bf``.
* ``sniff``: XML or TAK protocol, from a connection's first byte.

A splitter that meets a bad event or frame raises ``FramingError`` and keeps what it had
already split: the next ``feed`` (with more data or ``b""``) returns it, then goes on.
Pure: no I/O; each splitter holds only the bytes of the event or frame in progress.
"""

from __future__ import annotations

import enum
import re
from typing import Final

from tessera.codecs.cot_model import DEFAULT_MAX_EVENT_BYTES, CotError

TAK_MAGIC: Final = 0xBF
MESH_HEADER: Final = bytes((TAK_MAGIC, 0x01, TAK_MAGIC))
_MAX_VARINT_BYTES: Final = 10
_EVENT_START: Final = re.compile(rb"<event[\s>/]")
_EVENT_END: Final = re.compile(rb"</event\s*>")
_START_PREFIX: Final = len(b"<event")
_XML_FIRST_BYTES: Final = frozenset(b"< \t\r\n\xef")  # 0xef: a UTF-8 byte order mark


class FramingError(CotError):
    """A stream that cannot be split: an oversized or truncated event, a bad frame."""


class WireFormat(enum.StrEnum):
    XML = "xml"
    PROTOBUF = "protobuf"  # TAK protocol version 1


def sniff(first_byte: int) -> WireFormat | None:
    """What a connection speaks, from its first byte: XML starts with ``<`` (or
    whitespace, or a byte order mark), TAK protocol with ``0xbf``; None for neither."""
    if first_byte == TAK_MAGIC:
        return WireFormat.PROTOBUF
    if first_byte in _XML_FIRST_BYTES:
        return WireFormat.XML
    return None


class XmlEventSplitter:
    """Whole ``<event>`` documents from a stream of XML events."""

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self._buffer = bytearray()
        self._in_event = False  # the buffer starts with "<event"
        self._scan_from = 0  # where the end of the current event may still begin
        self._ready: list[bytes] = []

    def feed(self, data: bytes) -> list[bytes]:
        """The events completed by ``data``; ``FramingError`` for an oversized or
        truncated one (the events before it come out of the next call)."""
        self._buffer += data
        out, self._ready = self._ready, []
        while self._in_event or self._find_start():
            problem = self._take_event(out)
            if problem is not None:
                self._ready = out
                raise FramingError(problem)
            if self._in_event:
                break
        return out

    def incomplete(self) -> bool:
        """Whether an event has begun and not yet ended (at the end of a file: truncated)."""
        return self._in_event

    def _find_start(self) -> bool:
        match = _EVENT_START.search(self._buffer)
        if match is None:
            # Only the tail can be the beginning of an "<event" still arriving.
            del self._buffer[: max(0, len(self._buffer) - _START_PREFIX)]
            return False
        del self._buffer[: match.start()]
        self._in_event, self._scan_from = True, _START_PREFIX
        return True

    def _take_event(self, out: list[bytes]) -> str | None:
        """Move the event at the head of the buffer to ``out`` if it is complete; the
        reason it is refused otherwise, or None while it is still arriving."""
        end = _EVENT_END.search(self._buffer, self._scan_from)
        restart = _EVENT_START.search(self._buffer, self._scan_from)
        if restart is not None and (end is None or restart.start() < end.start()):
            del self._buffer[: restart.start()]
            self._scan_from = _START_PREFIX
            return "event truncated: a new <event> began before </event>"
        if end is not None:
            document = bytes(self._buffer[: end.end()])
            del self._buffer[: end.end()]
            self._in_event = False
            if len(document) > self.max_event_bytes:
                return f"event larger than {self.max_event_bytes} bytes"
            out.append(document)
            return None
        if len(self._buffer) > self.max_event_bytes:
            del self._buffer[: len(self._buffer) - _START_PREFIX]
            self._in_event = False  # skip the rest of it: look for the next "<event"
            return f"event larger than {self.max_event_bytes} bytes"
        # Both patterns contain a single "<": a match still arriving starts at the last one.
        last_open = self._buffer.rfind(b"<", _START_PREFIX)
        self._scan_from = last_open if last_open >= 0 else len(self._buffer)
        return None


class TakStreamFramer:
    """Payloads from a TAK protocol version 1 stream (``0xbf``, varint length, payload)."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._skip = 0  # bytes of a refused oversized payload still to drop
        self._broken: str | None = None
        self._ready: list[bytes] = []

    def feed(self, data: bytes) -> list[bytes]:
        """The payloads completed by ``data``. ``FramingError`` for an oversized frame
        (skipped; the stream stays in step) or a bad magic byte (the stream is out of step
        for good: every later call fails too)."""
        if self._broken is not None:
            if not self._ready:
                raise FramingError(self._broken)
            out, self._ready = self._ready, []
            return out
        self._buffer += data
        out, self._ready = self._ready, []
        while True:
            try:
                payload = self._next_payload()
            except FramingError:
                self._ready = out
                raise
            if payload is None:
                return out
            out.append(payload)

    def _next_payload(self) -> bytes | None:
        if self._skip:
            dropped = min(self._skip, len(self._buffer))
            del self._buffer[:dropped]
            self._skip -= dropped
            if self._skip:
                return None
        if not self._buffer:
            return None
        if self._buffer[0] != TAK_MAGIC:
            self._broken = (
                f"TAK stream: expected the magic byte 0xbf, found {self._buffer[0]:#04x};"
                " the stream is out of step"
            )
            raise FramingError(self._broken)
        try:
            header = read_varint(self._buffer, 1)
        except FramingError as exc:
            self._broken = str(exc)
            raise
        if header is None:
            return None
        length, start = header
        if length > self.max_frame_bytes:
            del self._buffer[:start]
            self._skip = length
            raise FramingError(
                f"TAK stream: a frame of {length} bytes is larger than {self.max_frame_bytes}"
            )
        if len(self._buffer) < start + length:
            return None
        payload = bytes(self._buffer[start : start + length])
        del self._buffer[: start + length]
        return payload


def read_varint(data: bytes | bytearray, offset: int) -> tuple[int, int] | None:
    """A protobuf varint at ``offset``: (value, offset after it), or None if incomplete."""
    value = 0
    for index in range(_MAX_VARINT_BYTES):
        if offset + index >= len(data):
            return None
        byte = data[offset + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, offset + index + 1
    raise FramingError(f"TAK stream: a length longer than {_MAX_VARINT_BYTES} bytes")


def encode_varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("a varint cannot be negative")
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_stream_frame(payload: bytes) -> bytes:
    return bytes((TAK_MAGIC,)) + encode_varint(len(payload)) + payload


def parse_mesh_frame(datagram: bytes) -> bytes:
    """The payload of a mesh (UDP) datagram ``bf 01 bf`` + payload."""
    if len(datagram) < len(MESH_HEADER) or datagram[0] != TAK_MAGIC or datagram[2] != TAK_MAGIC:
        raise FramingError("TAK mesh: the datagram does not start with bf <version> bf")
    if datagram[1] != MESH_HEADER[1]:
        raise FramingError(f"TAK mesh: unsupported protocol version {datagram[1]}")
    payload = bytes(datagram[len(MESH_HEADER) :])
    if not payload:
        raise FramingError("TAK mesh: empty payload")
    return payload


def encode_mesh_frame(payload: bytes) -> bytes:
    return MESH_HEADER + payload

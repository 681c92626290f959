"""The federation link's wire format: framed, compact, pure.

A link is one TLS stream in each direction of use: the sending node dials, says ``Hello``;
the receiving node answers ``Welcome`` with where to resume; then ``Batch`` frames go one
way and ``Ack`` frames the other. A frame is a 4-byte big-endian length and a body; the
bodies of one stream are msgpack (msgspec, array-like structs) compressed by one
Zstandard stream per direction, each frame flushed as a block, so what a frame repeats of
the ones before it (field values, labels, sources) costs almost nothing.

Chat crosses too (protocol 2): the rooms' messages are journaled apart from reports, so
``Welcome`` says where the sender's chat journal resumes as well (``chat_resume``) and a
batch may complete a chat position (``chat_position``). Both are trailing fields: a
protocol 1 peer ignores them and sends none, and a sender whose peer welcomes it with no
``chat_resume`` (protocol 1) sends no chat. A receiver refuses protocols it does not
speak, saying so.

Every item carries its ``origin`` (the node that journaled it first) and its ``path`` (the
nodes it crossed since), so a node can refuse what it has already passed on.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import IO, Annotated, Any, Final, cast

import msgspec
import zstandard

from tessera.core.chat import ChatText, MessageId
from tessera.core.model import (
    Grading,
    Identifier,
    Label,
    Report,
    StoredName,
    StoredRemarks,
    Timestamp,
)
from tessera.core.overlays import Overlay

PROTOCOL: Final = 2
# The oldest protocol a receiver still takes (it carries no chat).
OLDEST_PROTOCOL: Final = 1
LENGTH: Final = struct.Struct(">I")
# The largest frame body either side accepts, compressed and decompressed.
MAX_FRAME: Final = 4 * 1024 * 1024
MAX_ITEMS: Final = 10_000
MAX_PATH: Final = 16
NODE_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$(?!\n)"
NodeId = Annotated[str, msgspec.Meta(pattern=NODE_PATTERN)]
Path = Annotated[tuple[NodeId, ...], msgspec.Meta(max_length=MAX_PATH)]


class FrameError(ValueError):
    """Bytes that are not a valid frame of this protocol."""


class Hello(msgspec.Struct, frozen=True, tag="hello", array_like=True):
    """The dialling node: who it is, the protocol it speaks."""

    node: NodeId
    protocol: int = PROTOCOL


class Welcome(msgspec.Struct, frozen=True, tag="welcome", array_like=True):
    """The receiving node: who it is, and the sender's journal position it holds
    everything up to (the sender resumes after it); ``chat_resume`` likewise in the
    sender's chat journal (None: the receiver takes no chat, protocol 1)."""

    node: NodeId
    resume: int
    chat_resume: int | None = None


class Refused(msgspec.Struct, frozen=True, tag="refused", array_like=True):
    """The receiver will not take this link (the reason, for the sender's log)."""

    reason: StoredRemarks


class ReportItem(msgspec.Struct, frozen=True, tag="r", array_like=True):
    """A report as it crosses: its id at its origin, where it has been, the report."""

    id: Identifier
    origin: NodeId
    path: Path
    report: Report


class OverlayItem(msgspec.Struct, frozen=True, tag="o", array_like=True):
    """An overlay revision: ``overlay`` ``None`` withdraws ``overlay_id``."""

    id: Identifier
    origin: NodeId
    path: Path
    overlay_id: Identifier
    overlay: Overlay | None


class ChatItem(msgspec.Struct, frozen=True, tag="c", array_like=True):
    """A message of a picture's room: its id at its origin, where it has been, who said
    it, when, under which label (the receiver says it in its rooms that admit it)."""

    id: MessageId
    origin: NodeId
    path: Path
    sender: StoredName
    sender_uid: MessageId
    text: ChatText
    sent_at: Timestamp
    label: Label


Item = ReportItem | OverlayItem | ChatItem


class Batch(msgspec.Struct, frozen=True, tag="batch", array_like=True):
    """Items, numbered per connection. ``position``: once this batch is acknowledged the
    receiver holds everything of the sender's journal up to it (0: no change), and
    ``chat_position`` likewise of its chat journal."""

    number: int
    items: Annotated[tuple[Item, ...], msgspec.Meta(max_length=MAX_ITEMS)]
    position: int = 0
    chat_position: int = 0


class Ack(msgspec.Struct, frozen=True, tag="ack", array_like=True):
    """Every batch up to ``number`` is durable at the receiver; ``refused`` counts the
    items of those batches it would not take (labels above its ceiling)."""

    number: int
    refused: int = 0


class Ping(msgspec.Struct, frozen=True, tag="ping", array_like=True):
    """Keeps a quiet link's liveness known (answered by an ``Ack`` of the last batch)."""

    at: datetime


Frame = Hello | Welcome | Refused | Batch | Ack | Ping


def label_of(item: Item) -> Label | None:
    """The label an item is released under (None: an overlay's withdrawal)."""
    if isinstance(item, ReportItem):
        return item.report.label
    if isinstance(item, ChatItem):
        return item.label
    return None if item.overlay is None else item.overlay.label


class FrameWriter:
    """One direction's frames, as bytes for the stream."""

    def __init__(self, level: int = 3) -> None:
        self._encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
        self._compressor = zstandard.ZstdCompressor(level=level).compressobj()

    def frame(self, frame: Frame) -> bytes:
        body = self._compressor.compress(self._encoder.encode(frame))
        body += self._compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        if len(body) > MAX_FRAME:
            raise ValueError(f"a frame of {len(body)} bytes is over the limit of {MAX_FRAME}")
        return LENGTH.pack(len(body)) + body


class FrameReader:
    """One direction's frames, from the stream's bytes in any pieces."""

    def __init__(self) -> None:
        self._decoder = msgspec.msgpack.Decoder(Frame, dec_hook=_dec_hook)
        self._sink = _BoundedSink()
        self._decompressor = zstandard.ZstdDecompressor().stream_writer(cast(IO[bytes], self._sink))
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """The frames ``data`` completes; FrameError for anything not a valid frame (the
        stream cannot go on after one: its compression state is lost)."""
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= LENGTH.size:
            (size,) = LENGTH.unpack_from(self._buffer)
            if size > MAX_FRAME:
                raise FrameError(f"frame of {size} bytes is over the limit of {MAX_FRAME}")
            if len(self._buffer) < LENGTH.size + size:
                break
            body = bytes(self._buffer[LENGTH.size : LENGTH.size + size])
            del self._buffer[: LENGTH.size + size]
            frames.append(self._decode(body))
        return frames

    def _decode(self, body: bytes) -> Frame:
        # Decompressed into a sink that stops at the limit: a small frame cannot
        # make the receiver hold gigabytes.
        self._sink.start()
        try:
            self._decompressor.write(body)
        except zstandard.ZstdError as exc:
            raise FrameError(f"frame is not Zstandard data: {exc}") from None
        raw = self._sink.take()
        try:
            frame: Frame = self._decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise FrameError(f"not a federation frame: {exc}") from None
        return frame


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, Grading):
        return obj.code
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Grading and isinstance(obj, str):
        return Grading.parse(obj)
    raise NotImplementedError(f"no decoder for {type_!r}")


class _BoundedSink:
    """Where one frame's body is decompressed to, refusing more than ``MAX_FRAME``."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def start(self) -> None:
        self._parts, self._size = [], 0

    def write(self, data: bytes) -> int:
        self._size += len(data)
        if self._size > MAX_FRAME:
            raise FrameError(f"frame decompresses to more than {MAX_FRAME} bytes")
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        return b"".join(self._parts)

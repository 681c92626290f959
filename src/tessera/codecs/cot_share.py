"""What one gateway's TAK clients share, as it travels to the other gateways.

A shared event is the ``CotEvent`` a client sent, the label it was shared with, whether it
is chat (kept in order, never coalesced) and the origin: the id of the process whose
client sent it, so that a process can tell its own messages from its peers'. On the wire
it is one MessagePack map: ``v`` (the format version, 1), ``origin``, ``chat``, ``label``
(``classification``, ``releasable_to``) and ``event``, the event as CoT XML
(``tessera.codecs.cot``); and, when known, ``author``, the name of the principal whose
client sent it, and ``moderator``, whether that principal may delete what others shared
(what a receiving gateway needs to judge a delete as the sending one did). XML rather
than TAK protocol, because every event the server holds can be written as XML, while TAK
protocol cannot carry a time before 1970.

A request for what the peers hold now (sent by a process that joins) is a map of ``v``
and ``origin`` only.

Decoding takes untrusted bytes and returns a ``SharedEvent`` or raises ``ShareError``;
no other exception escapes. The event inside goes through the hardened CoT parser, the
label through the model's own constraints. A decoded label is data: whoever receives it
still decides who may read it. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, TypeVar

import msgspec

from tessera.codecs.cot import encode_event, parse_event
from tessera.codecs.cot_model import DEFAULT_MAX_EVENT_BYTES, CotError, CotEvent
from tessera.core.model import Label

__all__ = [
    "MAX_AUTHOR_CHARS",
    "ORIGIN_PATTERN",
    "SHARE_VERSION",
    "ShareError",
    "SharedEvent",
    "decode_shared",
    "decode_sync_request",
    "encode_shared",
    "encode_sync_request",
]

SHARE_VERSION: Final = 1
ORIGIN_PATTERN: Final = r"\A[A-Za-z0-9_-]{1,64}\Z"
# Room for everything around the event: the origin, the label (64 communities at most),
# the keys.
_ENVELOPE_BYTES: Final = 8 * 1024
MAX_AUTHOR_CHARS: Final = 256
_ORIGIN: Final = re.compile(ORIGIN_PATTERN)

Origin = Annotated[str, msgspec.Meta(pattern=ORIGIN_PATTERN)]
Author = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_AUTHOR_CHARS)]


class ShareError(CotError):
    """A shared-event message that cannot be accepted; the message says why."""


class SharedEvent(msgspec.Struct, frozen=True, kw_only=True):
    event: CotEvent
    label: Label
    chat: bool
    origin: str
    author: str | None = None
    moderator: bool = False


class _Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    v: int
    origin: Origin
    chat: bool
    label: Label
    event: bytes
    author: Author | None = None
    moderator: bool = False


class _SyncRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    v: int
    origin: Origin


_T = TypeVar("_T", _Message, _SyncRequest)
_encoder: Final = msgspec.msgpack.Encoder()
_message_decoder: Final = msgspec.msgpack.Decoder(_Message)
_request_decoder: Final = msgspec.msgpack.Decoder(_SyncRequest)


def encode_shared(shared: SharedEvent, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> bytes:
    """One shared event as a message; ``ShareError`` if it cannot be written, or not
    within what ``decode_shared`` takes."""
    _check_origin(shared.origin)
    try:
        xml = encode_event(shared.event)
    except CotError as exc:
        raise ShareError(f"shared event: {exc}") from None
    if len(xml) > max_event_bytes:
        raise ShareError(f"shared event: the event is larger than {max_event_bytes} bytes")
    if shared.author is not None and not 0 < len(shared.author) <= MAX_AUTHOR_CHARS:
        raise ShareError(f"shared event: the author must be 1 to {MAX_AUTHOR_CHARS} characters")
    message = _Message(
        SHARE_VERSION,
        shared.origin,
        shared.chat,
        shared.label,
        xml,
        author=shared.author,
        moderator=shared.moderator,
    )
    return _encoder.encode(message)


def decode_shared(data: bytes, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> SharedEvent:
    """One shared event from untrusted bytes; ``ShareError`` for anything else."""
    if len(data) > max_event_bytes + _ENVELOPE_BYTES:
        raise ShareError(f"shared event: larger than {max_event_bytes + _ENVELOPE_BYTES} bytes")
    message = _decode(_message_decoder, data, "shared event")
    try:
        event = parse_event(message.event, max_bytes=max_event_bytes)
    except CotError as exc:
        raise ShareError(f"shared event: {exc}") from None
    return SharedEvent(
        event=event,
        label=message.label,
        chat=message.chat,
        origin=message.origin,
        author=message.author,
        moderator=message.moderator,
    )


def encode_sync_request(origin: str) -> bytes:
    """A joining process's request for what its peers' clients have shared."""
    _check_origin(origin)
    return _encoder.encode(_SyncRequest(SHARE_VERSION, origin))


def decode_sync_request(data: bytes) -> str:
    """The origin of a request; ``ShareError`` for anything that is not one."""
    if len(data) > _ENVELOPE_BYTES:
        raise ShareError(f"sync request: larger than {_ENVELOPE_BYTES} bytes")
    return _decode(_request_decoder, data, "sync request").origin


def _decode(decoder: msgspec.msgpack.Decoder[_T], data: bytes, what: str) -> _T:
    try:
        decoded = decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise ShareError(f"{what}: {exc}") from None
    except Exception as exc:  # the last line of defence: untrusted input gets ShareError only
        raise ShareError(f"{what}: unreadable ({type(exc).__name__})") from None
    if decoded.v != SHARE_VERSION:
        raise ShareError(f"{what}: version {decoded.v} is not supported (only {SHARE_VERSION})")
    return decoded


def _check_origin(origin: str) -> None:
    if not _ORIGIN.fullmatch(origin):
        raise ShareError("shared event: the origin must be 1 to 64 letters, digits, '_' or '-'")

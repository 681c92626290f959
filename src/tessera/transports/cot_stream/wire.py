"""An event ready for the wire: encoded once per form (XML, TAK protocol stream frame) and
shared by every client that receives it."""

from __future__ import annotations

from typing import Final

from tessera.codecs.cot import CotEvent, encode_event
from tessera.codecs.cot_framing import encode_stream_frame
from tessera.codecs.cot_proto import encode_payload

XML: Final = "xml"
PROTOBUF: Final = "protobuf"
# Control traffic that is answered or ignored, never shared.
CONTROL_PREFIX: Final = "t-x-"


class WireEvent:
    """``key`` is what coalesces: a newer event with the same key replaces an older one
    still waiting in a client's outbox (a position, a track); chat has a unique key."""

    __slots__ = ("_protobuf", "_xml", "event", "key")

    def __init__(self, event: CotEvent, key: str | None = None) -> None:
        self.event = event
        self.key = key or event.uid
        self._xml: bytes | None = None
        self._protobuf: bytes | None = None

    def encoded(self, form: str) -> bytes:
        if form == PROTOBUF:
            if self._protobuf is None:
                self._protobuf = encode_stream_frame(encode_payload(self.event))
            return self._protobuf
        if self._xml is None:
            self._xml = encode_event(self.event)
        return self._xml

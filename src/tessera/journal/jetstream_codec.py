"""How the JetStream journal lays out its commits and index entries (pure: no I/O).

A commit is one message on the journal's log subject. Its headers give its transaction id
(``Nats-Msg-Id``), the sequence number of its first item, its item count and its received
time; its payload is a JSON array of stored items, or nothing when they did not fit in one
message and were put in chunks in the index bucket beforehand (``Tessera-Chunks`` counts
them). A void marker is a commit of no items naming a transaction (``Tessera-Void``) that
may never land after it. A claim, one per stored report or overlay revision, names the
transaction meant to store it: it holds if that transaction landed, and is void if it was
voided first.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final, Literal

import msgspec

from tessera.codecs.json import decode_stored_report, encode, encode_report
from tessera.codecs.overlay_json import decode_stored_revision
from tessera.core.model import Report
from tessera.journal.base import AppendResult, JournalEntry, JournalItem
from tessera.microseconds import from_us

TXN: Final = "Nats-Msg-Id"
EXPECTED_LAST: Final = "Nats-Expected-Last-Sequence"
FIRST_SEQ: Final = "Tessera-Seq"
COUNT: Final = "Tessera-Count"
RECEIVED: Final = "Tessera-Received"
CHUNKS: Final = "Tessera-Chunks"
VOID: Final = "Tessera-Void"
# Room left in a message for its headers and the array's brackets.
HEADROOM: Final = 4096

_SAFE: Final = frozenset(string.ascii_letters + string.digits + "_-")
# msgspec decodes Raw only on its own, not in a union with None: absence is JSON null.
NULL: Final = msgspec.Raw(b"null")


def token(text: str) -> str:
    """``text`` as a single NATS subject token, also a valid key-value key.

    Identifiers may hold '.', the subject separator, and ':' or '@': everything outside
    letters, digits, '_' and '-' becomes ``=XX`` per UTF-8 byte ('=' included, so the
    escape is reversible and distinct texts never share a token)."""
    return "".join(
        char if char in _SAFE else "".join(f"={byte:02X}" for byte in char.encode())
        for char in text
    )


def item_key(item: JournalItem) -> str:
    # Reports and overlay revisions have separate namespaces: equal ids never collide.
    if isinstance(item, Report):
        return report_key(item.id)
    return f"overlay.{token(item.id)}"


def report_key(report_id: str) -> str:
    return f"report.{token(report_id)}"


def chunk_key(txn: str, index: int) -> str:
    return f"chunk.{txn}.{index}"


def txn_key(txn: str) -> str:
    return f"txn.{txn}"


def index_bucket(stream: str) -> str:
    """Chunks of large commits (as long as their commit is held)."""
    return f"{stream}_INDEX"


def claims_bucket(stream: str) -> str:
    """Claims and transaction fates (for the de-duplication window)."""
    return f"{stream}_CLAIMS"


Kind = Literal["report", "overlay", "tick"]


class Stored(msgspec.Struct, array_like=True, frozen=True):
    """One item of a commit's payload."""

    kind: Kind
    body: msgspec.Raw = NULL


class IndexEntry(msgspec.Struct, array_like=True, frozen=True):
    """An id's claim: the transaction meant to store it, which cannot land before
    ``floor`` (the log's next position when the claim was made), and for a report its
    stored form (its received time is the commit's), so a lookup by id is one read."""

    txn: str
    floor: int
    report: msgspec.Raw = NULL


class TxnRecord(msgspec.Struct, array_like=True, frozen=True):
    """Where a transaction's commit (or its void marker) landed: a hint that spares a
    search of the log, checked against it before use."""

    position: int
    received_us: int
    void: bool = False


class Head(msgspec.Struct, frozen=True):
    """A commit's headers: where it is in the stream and which items it holds."""

    stream_seq: int
    txn: str
    first_seq: int
    count: int
    received_us: int
    chunks: int = 0
    void: str = ""  # the transaction this commit voids (it holds no items then)

    @property
    def next_seq(self) -> int:
        return self.first_seq + self.count


class Prepared(msgspec.Struct, frozen=True):
    """An item encoded for the commit (and, for a report, the index), once per
    transaction: its received time is the commit's, stamped in when it is read."""

    key: str
    part: bytes
    item: JournalItem
    report_json: bytes | None


class Plan:
    """A group's commit, laid out once its ids are claimed: the items to store, and
    where each caller's items are (known sequence numbers, or places among them)."""

    def __init__(
        self,
        appends: Sequence[Sequence[JournalItem]],
        prepared: Mapping[str, Prepared],
        known: Mapping[str, int],
    ) -> None:
        self.fresh: list[JournalItem] = []
        self.payloads: list[bytes] = []
        self._parts: list[bytes] = []
        self._appends: list[tuple[list[str], list[tuple[bool, int]], int]] = []
        places: dict[str, int] = {}
        for items in appends:
            slots: list[tuple[bool, int]] = []  # (new here, place) or (stored, seq)
            duplicates = 0
            for item in items:
                key = item_key(item)
                if key in known:
                    slots.append((False, known[key]))
                    duplicates += 1
                    continue
                if key in places:
                    duplicates += 1
                else:
                    places[key] = len(self.fresh)
                    self.fresh.append(prepared[key].item)
                    self._parts.append(prepared[key].part)
                slots.append((True, places[key]))
            self._appends.append(([item.id for item in items], slots, duplicates))

    @property
    def parts(self) -> list[bytes]:
        return self._parts

    def results(self, first_seq: int) -> list[AppendResult]:
        return [
            AppendResult(ids, [first_seq + n if new else n for new, n in slots], duplicates)
            for ids, slots, duplicates in self._appends
        ]


TICK: Final = encode(Stored("tick"))
_index_decoder: Final = msgspec.json.Decoder(IndexEntry)
_record_decoder: Final = msgspec.json.Decoder(TxnRecord)
_payload_decoder: Final = msgspec.json.Decoder(list[Stored])


def prepare(item: JournalItem) -> Prepared:
    if isinstance(item, Report):
        body = encode_report(item)
        return Prepared(item_key(item), encode(Stored("report", msgspec.Raw(body))), item, body)
    part = encode(Stored("overlay", msgspec.Raw(encode(item))))
    return Prepared(item_key(item), part, item, None)


def stamped(item: JournalItem, received_at: datetime) -> JournalItem:
    """``item`` as the journal holds it: a report with its received time, an overlay
    revision with its overlay's update time."""
    if isinstance(item, Report):
        return msgspec.structs.replace(item, received_at=received_at)
    if item.overlay is None:
        return item
    overlay = msgspec.structs.replace(item.overlay, updated_at=received_at)
    return msgspec.structs.replace(item, overlay=overlay)


def entry(seq: int, received_at: datetime, item: JournalItem | None) -> JournalEntry:
    if item is None:
        return JournalEntry(seq, received_at, None)
    item = stamped(item, received_at)
    if isinstance(item, Report):
        return JournalEntry(seq, received_at, item)
    return JournalEntry(seq, received_at, None, item)


def encode_index(entry: IndexEntry | TxnRecord) -> bytes:
    return encode(entry)


def decode_index(data: bytes) -> IndexEntry:
    return _index_decoder.decode(data)


def decode_record(data: bytes) -> TxnRecord:
    return _record_decoder.decode(data)


def pack(parts: Sequence[bytes], limit: int) -> list[bytes]:
    """JSON arrays of ``parts``, in order, each at most ``limit`` bytes."""
    payloads: list[bytes] = []
    current: list[bytes] = []
    size = 2
    for part in parts:
        if len(part) + 2 > limit:
            raise ValueError(f"one journal item is {len(part)} bytes, over the {limit} allowed")
        if current and size + len(part) + 1 > limit:
            payloads.append(b"[" + b",".join(current) + b"]")
            current, size = [], 2
        current.append(part)
        size += len(part) + 1
    if current:
        payloads.append(b"[" + b",".join(current) + b"]")
    return payloads


def commit_headers(head: Head, expected_last: int) -> dict[str, str]:
    headers = {
        TXN: head.txn,
        EXPECTED_LAST: str(expected_last),
        FIRST_SEQ: str(head.first_seq),
        COUNT: str(head.count),
        RECEIVED: str(head.received_us),
    }
    if head.chunks:
        headers[CHUNKS] = str(head.chunks)
    if head.void:
        headers[VOID] = head.void
    return headers


def head_of(stream_seq: int, headers: Mapping[str, str] | None) -> Head:
    """A commit's head from its stored headers; ValueError if it is not a commit."""
    if not headers or FIRST_SEQ not in headers:
        raise ValueError(f"stream message {stream_seq} is not a journal commit")
    return Head(
        stream_seq=stream_seq,
        txn=headers[TXN],
        first_seq=int(headers[FIRST_SEQ]),
        count=int(headers[COUNT]),
        received_us=int(headers[RECEIVED]),
        chunks=int(headers.get(CHUNKS, "0")),
        void=headers.get(VOID, ""),
    )


def entries_of(head: Head, payloads: Sequence[bytes]) -> list[JournalEntry]:
    """The journal entries a commit holds, numbered from its first sequence number."""
    received_at = from_us(head.received_us)
    if not head.count:
        return []
    stored = [item for payload in payloads for item in _payload_decoder.decode(payload)]
    if len(stored) != head.count:
        raise ValueError(f"commit {head.stream_seq} holds {len(stored)} items, not {head.count}")
    entries: list[JournalEntry] = []
    for index, item in enumerate(stored):
        decoded: JournalItem | None = None
        if item.kind == "report":
            decoded = decode_stored_report(bytes(item.body))
        elif item.kind == "overlay":
            decoded = decode_stored_revision(bytes(item.body))
        entries.append(entry(head.first_seq + index, received_at, decoded))
    return entries


def entry_key(entry: JournalEntry) -> str | None:
    item = entry.report if entry.report is not None else entry.overlay
    return None if item is None else item_key(item)

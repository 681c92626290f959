"""The requests on what a JetStream journal keeps in NATS (``jetstream_storage``):
publishing and reading commits (chunks included), claiming ids, and finding out what
became of a transaction. The log may have been trimmed at the front: reads start at the
first commit held, and a claim whose commit is gone is answered from the long-term record
(``StoredKeys``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Final, TypeVar

import msgspec
import nats
import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import APIError, KeyNotFoundError, NotFoundError
from nats.js.errors import KeyWrongLastSequenceError as ClaimTakenError
from nats.js.kv import KeyValue

from tessera.codecs.json import decode_stored_report
from tessera.core.model import Report
from tessera.journal import jetstream_codec as codec
from tessera.journal.base import JournalEntry, JournalUnavailableError, StoredKeys
from tessera.microseconds import from_us

_WRONG_LAST_SEQUENCE: Final = frozenset({10071, 10164})
# Publishing one commit again after an unknown outcome; well within the duplicate window.
_PUBLISH_TRIES: Final = 5
WINDOW: Final = 512  # key-value and stream requests in flight at once
_TXN_MEMORY: Final = 65_536
log = logging.getLogger(__name__)
T = TypeVar("T")
Fate = tuple[int, int]  # (position, received time in µs; 0 for a void marker)


async def in_windows(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T | BaseException]:
    """Run ``calls`` concurrently, at most WINDOW at a time; failures are returned."""
    results: list[T | BaseException] = []
    for start in range(0, len(calls), WINDOW):
        window = calls[start : start + WINDOW]
        results += await asyncio.gather(*(call() for call in window), return_exceptions=True)
    return results


def successes(results: Sequence[T | BaseException]) -> list[T]:
    """``results`` when none failed; else raise the first failure."""
    found: list[T] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        found.append(result)
    return found


class StaleViewError(Exception):
    """An append was based on an old view of the log: it must read on and try again."""

    def __init__(self, seen: int, *, blocking: str = "", floor: int = 0) -> None:
        super().__init__(seen)
        self.seen = seen
        # A pending transaction (and its floor) holding one of the ids, if that was it.
        self.blocking = blocking
        self.floor = floor


class StoredLog:
    def __init__(
        self,
        js: JetStreamContext,
        kv: KeyValue,
        claims: KeyValue,
        stream: str,
        *,
        direct: bool,
        horizon: int,
        stored_keys: StoredKeys | None = None,
        claims_expire: bool = False,
    ) -> None:
        self._js = js
        self._kv = kv  # chunks
        self._claims = claims  # claims and transaction fates
        self._stream = stream
        self._direct = direct
        self._stored_keys = stored_keys
        # Claims go after the de-duplication window: every new id is looked up first.
        self._claims_expire = claims_expire
        # The first commit the stream holds, as last seen (trimming moves it on).
        self.first_position = 1
        # What became of every transaction from position `_horizon` on (read in order):
        # where it landed, or was voided; and of older ones looked up since.
        self._fates: OrderedDict[str, Fate] = OrderedDict()
        self._recalled: OrderedDict[str, Fate] = OrderedDict()
        self._horizon = horizon
        self._decoded: tuple[int, list[JournalEntry]] | None = None
        self._cursor: tuple[int, int] | None = None  # (item seq, the commit holding it)

    # -- commits -----------------------------------------------------------------------

    async def publish(self, subject: str, head: codec.Head, payload: bytes) -> None:
        """Publish a commit, to land directly after the one before ``head``."""
        expected_last = head.stream_seq - 1
        headers = codec.commit_headers(head, expected_last)
        error: Exception | None = None
        for attempt in range(_PUBLISH_TRIES):
            try:
                ack = await self._js.publish(subject, payload, headers=headers)
            except APIError as exc:
                if exc.err_code in _WRONG_LAST_SEQUENCE:
                    raise StaleViewError(expected_last) from None
                raise
            except (nats.errors.Error, TimeoutError) as exc:
                # Outcome unknown: the same message again is stored at most once (its
                # Nats-Msg-Id), and nowhere but right after `expected_last`.
                error = exc
                await asyncio.sleep(min(1.0, 0.01 * 2**attempt))
                continue
            if ack.seq != head.stream_seq:
                raise RuntimeError(f"commit stored at {ack.seq}, expected {head.stream_seq}")
            return
        raise JournalUnavailableError(f"no acknowledgement from JetStream: {error}") from error

    async def put_chunks(self, txn: str, payloads: Sequence[bytes]) -> None:
        puts = [
            partial(self._kv.put, codec.chunk_key(txn, i), data) for i, data in enumerate(payloads)
        ]
        successes(await in_windows(puts))

    async def held_from(self) -> int:
        """The first commit the stream holds now (the log may have been trimmed)."""
        state = (await self._js.stream_info(self._stream)).state
        self.first_position = max(self.first_position, state.first_seq)
        return self.first_position

    async def last_position(self) -> int:
        return (await self._js.stream_info(self._stream)).state.last_seq

    async def head(self, stream_seq: int) -> codec.Head:
        msg = await self._js.get_msg(self._stream, seq=stream_seq, direct=self._direct)
        return codec.head_of(stream_seq, msg.headers)

    async def fetch(self, stream_seq: int) -> tuple[codec.Head, list[JournalEntry]]:
        msg = await self._js.get_msg(self._stream, seq=stream_seq, direct=self._direct)
        head = codec.head_of(stream_seq, msg.headers)
        return head, codec.entries_of(head, await self.payloads(head, msg.data or b""))

    async def payloads(self, head: codec.Head, data: bytes) -> list[bytes]:
        if not head.chunks:
            return [data]
        calls = [partial(self._kv.get, codec.chunk_key(head.txn, i)) for i in range(head.chunks)]
        return [chunk.value or b"" for chunk in successes(await in_windows(calls))]

    async def entries(self, stream_seq: int) -> list[JournalEntry]:
        # Paging through one large commit decodes it once.
        if self._decoded is None or self._decoded[0] != stream_seq:
            self._decoded = (stream_seq, (await self.fetch(stream_seq))[1])
        return self._decoded[1]

    async def read(self, after_seq: int, limit: int, last_commit: int) -> list[JournalEntry]:
        """Up to ``limit`` entries after ``after_seq`` from commits up to ``last_commit``,
        ending at a commit's end unless the limit cuts it."""
        target = after_seq + 1
        commit = await self._locate(target, last_commit)
        found: list[JournalEntry] = []
        last_of_commit = 0
        while len(found) < limit and commit <= last_commit:
            entries = await self.entries(commit)
            found += [entry for entry in entries if entry.seq >= target][: limit - len(found)]
            if entries:  # a void marker holds none
                last_of_commit = entries[-1].seq
            commit += 1
        if found and found[0].seq > target:
            log.warning(
                "journal read after entry %d: entries up to %d were trimmed, reading from %d",
                after_seq,
                found[0].seq - 1,
                found[0].seq,
            )
        if found:
            # Paging on from here needs no search.
            whole = found[-1].seq == last_of_commit
            self._cursor = (found[-1].seq + 1, commit if whole else commit - 1)
        return found

    async def commit_holding(self, target: int, last_commit: int) -> int:
        """The commit holding item ``target`` (the first held if it was trimmed)."""
        return await self._locate(target, last_commit)

    async def _locate(self, target: int, last_commit: int) -> int:
        """The stream sequence of the commit holding item ``target``: a binary search on
        the commits' first sequence numbers."""
        if self._cursor is not None and self._cursor[0] == target:
            return self._cursor[1]
        low, high = await self.held_from(), last_commit
        while low < high:
            middle = (low + high + 1) // 2
            if (await self.head(middle)).first_seq <= target:
                low = middle
            else:
                high = middle - 1
        return low

    # -- transactions ------------------------------------------------------------------

    def remember(self, head: codec.Head) -> None:
        """Note a commit read from the log in order (from the follower, or written here)."""
        if head.void:
            self._note(self._fates, head.void, (head.stream_seq, 0))
        self._note(self._fates, head.txn, (head.stream_seq, head.received_us))

    def _note(self, fates: OrderedDict[str, tuple[int, int]], txn: str, fate: Fate) -> None:
        fates.setdefault(txn, fate)
        if len(fates) > _TXN_MEMORY:
            _, (position, _) = fates.popitem(last=False)
            if fates is self._fates:
                # What this process remembers now starts after what it forgot.
                self._horizon = max(self._horizon, position + 1)

    def voided(self, txn: str) -> bool:
        fate = self._fates.get(txn)
        return fate is not None and fate[1] == 0

    async def record(self, head: codec.Head) -> None:
        """Leave where a transaction landed (or was voided) in the bucket: a hint for
        processes that did not read it. Best effort: the log has the answer anyway."""
        records = [(head.txn, codec.TxnRecord(head.stream_seq, head.received_us))]
        if head.void:
            records.append((head.void, codec.TxnRecord(head.stream_seq, 0, void=True)))
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            for txn, record in records:
                await self._claims.put(codec.txn_key(txn), codec.encode_index(record))

    async def status(self, txn: str, floor: int, view: int) -> Fate | None:
        """What became of a transaction, as of the log up to ``view``: (position,
        received time) where it landed; (position, 0) where it was voided; None while it
        is pending."""
        fate = self._fates.get(txn) or self._recalled.get(txn)
        if fate is None and floor < self._horizon:
            fate = await self._recall(txn, floor, view)
        return fate if fate is not None and fate[0] <= view else None

    async def _recall(self, txn: str, floor: int, view: int) -> Fate | None:
        """Look for a transaction from before what this process remembers: its record,
        else the log from ``floor`` up to that point."""
        positions: list[int] = []
        with contextlib.suppress(KeyNotFoundError):
            entry = await self._claims.get(codec.txn_key(txn))
            record = codec.decode_record(entry.value or b"")
            if record.position < await self.held_from():
                # Its commit was trimmed: the record is all there is to go by.
                fate = (record.position, 0 if record.void else record.received_us)
                self._note(self._recalled, txn, fate)
                return fate
            positions.append(record.position)
        start = max(floor, await self.held_from())
        positions += range(start, min(view + 1, self._horizon))
        for position in positions:
            head = await self.head(position)
            if txn in (head.txn, head.void):
                fate = (position, head.received_us if head.txn == txn else 0)
                self._note(self._recalled, txn, fate)
                return fate
        return None

    # -- the index ---------------------------------------------------------------------

    async def claim(
        self, txn: str, view: int, prepared: Sequence[codec.Prepared]
    ) -> dict[str, int]:
        """Claim every id for transaction ``txn``; answer the ids already stored, with
        their sequence numbers. Raises StaleViewError naming a pending transaction that
        holds one of the ids."""
        archived = await self._archived(prepared) if self._claims_expire else {}
        prepared = [item for item in prepared if item.key not in archived]
        values: dict[str, bytes] = {}
        for item in prepared:
            report = codec.NULL if item.report_json is None else msgspec.Raw(item.report_json)
            values[item.key] = codec.encode_index(codec.IndexEntry(txn, view + 1, report))
        keys = list(values)
        kv = self._claims
        created = await in_windows([partial(kv.update, key, values[key], last=0) for key in keys])
        taken: list[str] = []
        for key, outcome in zip(keys, created, strict=True):
            if isinstance(outcome, ClaimTakenError):
                taken.append(key)
            elif isinstance(outcome, BaseException):
                raise outcome
        calls = [partial(self._resolve, key, values[key], txn, view) for key in taken]
        resolved = successes(await in_windows(calls))
        held: dict[int, set[str]] = {}
        for key, position in zip(taken, resolved, strict=True):
            if position is not None:
                held.setdefault(position, set()).add(key)
        known: dict[str, int] = dict(archived)
        trimmed: list[codec.Prepared] = []
        for position, position_keys in held.items():
            try:
                known.update(await self.seqs_in(position, position_keys))
            except NotFoundError:
                trimmed += [item for item in prepared if item.key in position_keys]
        if trimmed:
            # Claimed by a commit trimmed since: trimming never passes the archive.
            known.update(await self._archived(trimmed))
        wanted = len(archived) + sum(len(position_keys) for position_keys in held.values())
        if len(known) != wanted:
            raise RuntimeError("an index claim names a commit that does not hold its id")
        return known

    async def _archived(self, prepared: Sequence[codec.Prepared]) -> dict[str, int]:
        """The seqs the long-term record holds for these reports (by index key)."""
        ids = {item.item.id: item.key for item in prepared if item.report_json is not None}
        if self._stored_keys is None or not ids:
            return {}
        try:
            found = await self._stored_keys.stored_seqs(list(ids))
        except Exception as exc:  # the record's own errors: the client may retry
            raise JournalUnavailableError(f"the long-term record did not answer: {exc}") from exc
        return {ids[report_id]: seq for report_id, seq in found.items() if report_id in ids}

    async def _resolve(self, key: str, value: bytes, txn: str, view: int) -> int | None:
        """An id claimed before: the position of the commit holding it if that landed;
        None once the claim is this transaction's (taken over if it was void)."""
        entry = await self._claims.get(key)
        claim = codec.decode_index(entry.value or b"")
        if claim.txn == txn:
            return None  # ours, from an earlier attempt
        fate = await self.status(claim.txn, claim.floor, view)
        if fate is None:
            raise StaleViewError(view, blocking=claim.txn, floor=claim.floor)
        if fate[1]:
            return fate[0]  # landed: a duplicate
        try:
            await self._claims.update(key, value, last=entry.revision)
        except ClaimTakenError:
            raise StaleViewError(view) from None  # someone else took it over first
        return None

    async def seqs_in(self, commit: int, keys: set[str]) -> dict[str, int]:
        """The sequence numbers of ``keys``' items in one commit."""
        found: dict[str, int] = {}
        for entry in await self.entries(commit):
            key = codec.entry_key(entry)
            if key in keys:
                found[key] = entry.seq
        return found

    async def reports(self, ids: Sequence[str], view: int) -> dict[str, Report]:
        wanted = list(dict.fromkeys(ids))
        got = await in_windows([partial(self._claims.get, codec.report_key(i)) for i in wanted])
        claims: dict[str, codec.IndexEntry] = {}
        for report_id, entry in zip(wanted, got, strict=True):
            if isinstance(entry, KeyNotFoundError):
                continue
            if isinstance(entry, BaseException):
                raise entry
            claim = codec.decode_index(entry.value or b"")
            if claim.report != codec.NULL:
                claims[report_id] = claim
        txns = sorted({(claim.txn, claim.floor) for claim in claims.values()})
        calls = [partial(self.status, txn, floor, view) for txn, floor in txns]
        fates = dict(zip(txns, successes(await in_windows(calls)), strict=True))
        found: dict[str, Report] = {}
        for report_id, claim in claims.items():
            fate = fates[(claim.txn, claim.floor)]
            if fate is not None and fate[1]:
                # The claim's copy was stamped before the commit: its time is the commit's.
                report = decode_stored_report(bytes(claim.report))
                found[report_id] = msgspec.structs.replace(report, received_at=from_us(fate[1]))
        return found


async def delete_journal(servers: str | Sequence[str], stream: str) -> None:
    """Remove a journal's stream and buckets (tests, or retiring a deployment)."""
    nc = await nats.connect(servers=servers if isinstance(servers, str) else list(servers))
    try:
        js = nc.jetstream()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)
        for bucket in (codec.index_bucket(stream), codec.claims_bucket(stream)):
            with contextlib.suppress(NotFoundError):
                await js.delete_key_value(bucket)
    finally:
        await nc.close()

"""The scale-out change bus: every gateway's subscribers fed through NATS JetStream.

Whoever publishes a picture's changes (its active fusion worker) sends them to a stream
with one subject per picture; every bus instance, the publisher's own included, follows
that stream with an ordered consumer (in order, without gaps, re-created after a
reconnect) and hands what arrives to an in-process ``MemoryBus``: its subscribers'
coalescing buffers and its retained window for ``since``. ``attach`` and friends are
that local bus's, so they stay synchronous. A gateway follows from the seq its copy of
each picture holds (``open(after)``): the ``retained`` changes before it only refill the
window for ``since``, and subscribers get only what is newer (``nats_position``).

``publish`` never blocks: changes wait in a coalescing buffer per picture (the latest
change per track and overlay) until the sender task sends them. While NATS is slow or
away that buffer only keeps the newest change of each item, so it is bounded by the
picture's size, and remote subscribers get fewer, fresher changes, as a slow local one
does. The sequence numbers are the publisher's; the bus never renumbers.

A fusion worker publishes under its lease epoch (``begin_epoch``, ``nats_epochs``): each
message carries it, and followers drop what an older epoch sends after a newer one's
first. It sends only while its ``fence`` holds, and nothing once deposed.

The interface has no lifecycle: whoever builds a ``NatsBus`` calls ``open()`` before use
and ``close()`` at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Final

import msgspec
import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from tessera.bus.base import Change, ChangeBus, ChangeKind, Subscriber
from tessera.bus.memory import MemoryBus
from tessera.bus.nats_epochs import EpochFilter, publish_chained, publish_marker
from tessera.bus.nats_position import first_message_after, follow_from
from tessera.cluster.fence import Fence, FencedError
from tessera.codecs.json import encode
from tessera.core.model import Grading, Track
from tessera.core.overlays import Overlay
from tessera.journal.jetstream_codec import token

log = logging.getLogger(__name__)

# Room left in a message for its headers and the array's brackets.
_HEADROOM: Final = 4096
_FLUSH_TIMEOUT: Final = 5.0


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Grading and isinstance(obj, str):
        return Grading.parse(obj)
    raise NotImplementedError(f"no decoder for {type_!r}")


class _Sent(msgspec.Struct, frozen=True):
    """A ``Change`` as it travels. msgspec decodes Raw only on its own, not in a union
    with None, so here a removal's feature is the JSON null."""

    seq: int
    item_id: str
    track: Track | None
    feature: msgspec.Raw
    kind: ChangeKind = "track"
    overlay: Overlay | None = None


_NULL: Final = msgspec.Raw(b"null")
_decoder: Final = msgspec.json.Decoder(list[_Sent], dec_hook=_dec_hook)


def encode_changes(changes: Sequence[Change], limit: int) -> list[tuple[bytes, int]]:
    """``changes`` as JSON arrays of at most ``limit`` bytes, in order, each with how
    many changes it accounts for. A change too large for any message is left out."""
    payloads: list[tuple[bytes, int]] = []
    current: list[bytes] = []
    size, taken = 2, 0
    for change in changes:
        part = encode(_without_lineage(change))
        taken += 1
        if len(part) + 2 > limit:
            log.error("change bus: change %d (%s) is too large to send", change.seq, change.item_id)
            continue
        if current and size + len(part) + 1 > limit:
            payloads.append((b"[" + b",".join(current) + b"]", taken - 1))
            current, size, taken = [], 2, 1
        current.append(part)
        size += len(part) + 1
    if current:
        payloads.append((b"[" + b",".join(current) + b"]", taken))
    return payloads


def _without_lineage(change: Change) -> Change:
    # A track's lineage (up to lineage_window report ids) does not travel: it would be most
    # of every change's size, and of the memory of every copy a gateway keeps. A gateway
    # answers a track's lineage from PostGIS (``TrackStore.with_lineage``).
    track = change.track
    if track is None or not track.lineage:
        return change
    return msgspec.structs.replace(change, track=msgspec.structs.replace(track, lineage=()))


def highest_seq(data: bytes) -> int:
    """The highest change seq in a message's payload (0 for none or undecodable)."""
    try:
        return max((sent.seq for sent in _decoder.decode(data)), default=0)
    except (msgspec.DecodeError, ValueError):
        return 0


class _WithheldError(Exception):
    """The fence does not hold just now (a renewal is late): the changes wait."""


def decode_changes(data: bytes) -> list[Change]:
    return [
        Change(
            sent.seq,
            sent.item_id,
            sent.track,
            None if sent.feature == _NULL else sent.feature,
            sent.kind,
            sent.overlay,
        )
        for sent in _decoder.decode(data)
    ]


class NatsBus(ChangeBus):
    def __init__(
        self,
        servers: str | Sequence[str],
        pictures: Iterable[str],
        *,
        retained: int,
        stream: str = "TESSERA_CHANGES",
        prefix: str = "tessera.changes",
        retained_messages: int = 10_000,
        storage: StorageType = StorageType.FILE,
        replicas: int = 1,
        follow: bool = True,
    ) -> None:
        names = list(pictures)
        self._servers = [servers] if isinstance(servers, str) else list(servers)
        self._local = MemoryBus(names, retained=retained)
        self._stream = stream
        self._prefix = prefix
        self._subjects = {name: f"{prefix}.{token(name)}" for name in names}
        self._pictures = {subject: name for name, subject in self._subjects.items()}
        self._retained = retained
        self._retained_messages = retained_messages
        self._storage = storage
        self._replicas = replicas
        # A process that only publishes (a fusion worker) need not decode the feed back.
        self._follow = follow
        self._pending: dict[str, dict[Hashable, Change]] = {}
        self._wake = asyncio.Event()
        self._limit = 0
        self._nc: Client | None = None
        self._follower: Subscription | None = None
        # Each picture's seq held here when the bus opened (a gateway's store).
        self._held: dict[str, int] = {}
        self._sender: asyncio.Task[None] | None = None
        self._closing = False
        self._js: JetStreamContext | None = None
        # Publishing: each picture's epoch (from begin_epoch) and the stream sequence of
        # its last message, the next one's expected predecessor.
        self.fence: Fence | None = None
        self._epochs: dict[str, int] = {}
        self._chain: dict[str, int] = {}
        # Following: the newest epoch seen per picture.
        self._epoch_filter = EpochFilter()

    async def open(self, after: Mapping[str, int] | None = None) -> None:
        nc = await nats.connect(
            servers=self._servers, name="tessera-bus", max_reconnect_attempts=-1
        )
        self._nc = nc
        try:
            js = nc.jetstream()
            self._limit = nc.max_payload - _HEADROOM
            await self._ensure_stream(js)
            if self._follow:
                self._held = dict(after or {})
                start = await self._follower_start(js)
                self._follower = await js.subscribe(
                    f"{self._prefix}.*",
                    stream=self._stream,
                    cb=self._on_changes,
                    ordered_consumer=True,
                    config=follow_from(start),
                )
        except BaseException:
            await nc.close()
            raise
        self._js = js
        self._sender = asyncio.create_task(self._send_loop(js), name="bus-sender")

    async def _follower_start(self, js: JetStreamContext) -> int:
        """The stream seq to follow from: for each picture, the first message with a
        change among the ``retained`` before the seq its copy holds (what refills the
        window for ``since``); the earliest of them (other pictures' messages in between
        only refill their windows too)."""
        starts = [
            await first_message_after(
                js, self._stream, subject, self._held.get(picture, 0) - self._retained
            )
            for picture, subject in self._subjects.items()
        ]
        return min(starts)

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self._stream,
                    subjects=[f"{self._prefix}.*"],
                    storage=self._storage,
                    num_replicas=self._replicas,
                    max_msgs_per_subject=self._retained_messages,
                )
            )

    async def close(self) -> None:
        """Send what is pending (for a few seconds at most), then disconnect."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        if self._sender is not None:
            try:
                await asyncio.wait_for(self._sender, _FLUSH_TIMEOUT)
            except TimeoutError:
                log.warning("change bus closed with changes unsent")
        if self._follower is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._follower.unsubscribe()
        if self._nc is not None:
            await self._nc.drain()

    # -- ChangeBus ---------------------------------------------------------------------

    def publish(self, picture: str, changes: list[Change]) -> None:
        if picture not in self._subjects:
            raise KeyError(picture)
        if not changes:
            return
        pending = self._pending.setdefault(picture, {})
        for change in changes:
            pending[change.key] = change
        self._wake.set()

    def attach(self, picture: str, subscriber: Subscriber, since: int | None) -> bool:
        if not self._follow:
            raise RuntimeError("this change bus only publishes: it has no subscribers")
        return self._local.attach(picture, subscriber, since)

    def detach(self, picture: str, subscriber: Subscriber) -> None:
        self._local.detach(picture, subscriber)

    def last_seq(self, picture: str) -> int:
        return self._local.last_seq(picture)

    async def begin_epoch(self, picture: str, epoch: int) -> int:
        """Mark the picture's subject with ``epoch`` (FencedError if a newer one is
        there); the highest change seq published before, for this publisher's seqs to
        go on above."""
        if self._js is None:
            raise RuntimeError("the change bus is not open")
        floor, marker = await publish_marker(
            self._js, self._stream, self._subjects[picture], epoch, highest_seq
        )
        self._epochs[picture] = epoch
        self._chain[picture] = marker
        return floor

    def subscriber_count(self, picture: str) -> int:
        return self._local.subscriber_count(picture)

    # -- sending and receiving ---------------------------------------------------------

    async def _send_loop(self, js: JetStreamContext) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, {}
            for picture, by_key in batch.items():
                changes = sorted(by_key.values(), key=lambda change: change.seq)
                try:
                    await self._send(js, picture, changes)
                    failures = 0
                except FencedError as exc:
                    self._deposed(str(exc))
                    return
                except _WithheldError:
                    failures += 1
                    self._requeue(picture, changes)
                except (nats.errors.Error, TimeoutError) as exc:
                    failures += 1
                    log.warning("change bus: sending %s failed (%s); retrying", picture, exc)
                    self._requeue(picture, changes)
                except Exception:  # a bug must not stop the sender for good
                    log.exception("change bus: dropped %d changes of %s", len(changes), picture)
            if self._closing and (not self._pending or failures):
                return
            if failures:
                await asyncio.sleep(min(5.0, 0.05 * 2**failures))

    async def _send(self, js: JetStreamContext, picture: str, changes: list[Change]) -> None:
        subject = self._subjects[picture]
        epoch = self._epochs.get(picture)
        for payload, count in encode_changes(changes, self._limit):
            if epoch is None:
                await js.publish(subject, payload)
            else:
                self._check_fence()
                self._chain[picture] = await publish_chained(
                    js,
                    self._stream,
                    subject,
                    payload,
                    epoch=epoch,
                    seq=changes[count - 1].seq,
                    after=self._chain[picture],
                    highest_seq=highest_seq,
                )
            del changes[:count]  # what fails from here on is sent again

    def _check_fence(self) -> None:
        fence = self.fence
        if fence is None:
            return
        if fence.deposed.is_set():
            raise FencedError(fence.reason)
        if not fence.holds():
            raise _WithheldError

    def _deposed(self, reason: str) -> None:
        log.error("change bus: stops publishing: %s", reason)
        self._pending = {}
        if self.fence is not None:
            self.fence.depose(reason)

    def _requeue(self, picture: str, unsent: list[Change]) -> None:
        """Put back what was not sent, under anything newer published meanwhile."""
        pending = self._pending.setdefault(picture, {})
        for change in unsent:
            pending.setdefault(change.key, change)
        self._wake.set()

    async def _on_changes(self, msg: Msg) -> None:
        picture = self._pictures.get(msg.subject)
        if picture is None or not self._epoch_filter.admits(picture, msg):
            return
        try:
            changes = decode_changes(msg.data)
        except (msgspec.DecodeError, ValueError) as exc:
            log.error("change bus: undecodable changes for %s: %s", picture, exc)
            return
        self._take(picture, changes)

    def _take(self, picture: str, changes: list[Change]) -> None:
        """What the copy of the picture here already holds only refills the window; the
        rest reaches the subscribers."""
        held = self._held.get(picture, 0)
        if changes and changes[0].seq <= held:
            self._local.retain(picture, [change for change in changes if change.seq <= held])
            changes = [change for change in changes if change.seq > held]
        self._local.publish(picture, changes)

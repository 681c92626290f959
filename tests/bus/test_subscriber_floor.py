"""A subscriber never gets a change at or before the seq its client holds (a snapshot's or
its ``since``), and what it takes comes in rising seq order, however the feed interleaves
refilling its window, new changes and changes delivered again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.bus.base import Change, Subscriber
from tessera.bus.memory import MemoryBus
from tessera.store.base import TrackQuery
from tests.bus.test_bus_contract import removal, track, upsert

ITEMS = 4


def change(seq: int) -> Change:
    """The change of seq ``seq``: the same seq is always the same change."""
    item = f"t{seq % ITEMS}"
    return removal(seq, item) if seq % 7 == 0 else upsert(seq, track(item))


def changes(first: int, last: int) -> list[Change]:
    return [change(seq) for seq in range(first, last + 1)]


def pending(subscriber: Subscriber) -> list[int]:
    async def take() -> list[int]:
        if not subscriber.pending_count():
            return []
        return [c.seq for c in await asyncio.wait_for(subscriber.take(), 1)]

    return asyncio.run(take())


def test_a_subscriber_drops_what_is_not_after_its_start() -> None:
    subscriber = Subscriber(TrackQuery(), visible=None, after=5)
    subscriber.offer_many(changes(3, 7), [True] * 5)
    assert pending(subscriber) == [6, 7]
    # Delivered again (a refill, a replaying worker): nothing older than what was taken.
    subscriber.offer_many(changes(4, 8), [True] * 5)
    assert pending(subscriber) == [8]


def test_starting_after_a_snapshot_drops_what_was_pending_before_it() -> None:
    subscriber = Subscriber(TrackQuery(), visible=None)
    subscriber.offer_many(changes(1, 4), [True] * 4)
    subscriber.start_after(3)
    assert subscriber.after == 3
    assert pending(subscriber) == [4]


def test_attaching_sets_the_floor_and_a_refilled_window_reaches_nobody() -> None:
    bus = MemoryBus(["COP"], retained=100)
    listening = Subscriber(TrackQuery(), visible=None)
    bus.attach("COP", listening, None)
    bus.retain("COP", changes(1, 10))
    assert bus.last_seq("COP") == 10
    assert listening.pending_count() == 0
    resumed = Subscriber(TrackQuery(), visible=None)
    assert bus.attach("COP", resumed, 7) is True
    assert resumed.after == 10
    bus.publish("COP", changes(5, 12))  # 5..10 again: the feed never goes back
    # Coalesced per item (12 is t0's, as 8 was).
    assert pending(resumed) == [9, 10, 11, 12]
    assert pending(listening) == [11, 12]
    assert bus.last_seq("COP") == 12


# -- any interleaving --------------------------------------------------------------------

# An operation on the feed: refill (old changes), publish (new ones), replay (old ones
# published again), attach (a client with since, or a snapshot at the feed's seq), take.
Operation = tuple[str, int, int]

operations = st.lists(
    st.tuples(
        st.sampled_from(["refill", "publish", "replay", "attach", "take"]),
        st.integers(0, 30),
        st.integers(1, 6),
    ),
    max_size=40,
)


@dataclass
class Client:
    subscriber: Subscriber
    start: int
    received: list[int] = field(default_factory=list)


@dataclass
class Feed:
    """A window of ``retained`` over a picture whose changes reach ``top``; what a
    gateway refilling it from the stream would do, in any order."""

    bus: MemoryBus = field(default_factory=lambda: MemoryBus(["COP"], retained=10))
    top: int = 0
    clients: list[Client] = field(default_factory=list)

    def apply(self, kind: str, at: int, count: int) -> None:
        if kind == "publish":
            self.bus.publish("COP", changes(self.top + 1, self.top + count))
            self.top += count
        elif kind in ("refill", "replay"):
            first = max(1, self.top - at)
            old = changes(first, min(self.top, first + count))
            if kind == "refill":
                self.bus.retain("COP", old)
            else:
                self.bus.publish("COP", old)
        elif kind == "attach":
            self.attach(max(0, self.top - at))
        elif self.clients:
            client = self.clients[at % len(self.clients)]
            client.received += pending(client.subscriber)

    def attach(self, since: int) -> None:
        # As the stream does: since when it resumes, else a snapshot at the feed's seq.
        subscriber = Subscriber(TrackQuery(), visible=None)
        start = since
        if not self.bus.attach("COP", subscriber, since):
            start = self.bus.last_seq("COP")
            subscriber.reset_visible(())
            self.bus.attach("COP", subscriber, start)
        self.clients.append(Client(subscriber, start))


@settings(max_examples=300, deadline=None)
@given(operations)
def test_no_interleaving_gives_a_subscriber_an_older_change_or_one_out_of_order(
    ops: list[Operation],
) -> None:
    feed = Feed()
    for kind, at, count in ops:
        feed.apply(kind, at, count)
    for client in feed.clients:
        client.received += pending(client.subscriber)
        assert all(seq > client.start for seq in client.received)
        assert client.received == sorted(set(client.received))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-1, 20),
    st.lists(st.lists(st.integers(0, 40), max_size=8), max_size=12),
    st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_a_subscriber_offered_batches_in_any_order_takes_only_newer_rising_seqs(
    start: int, batches: list[list[int]], takes: list[bool]
) -> None:
    subscriber = Subscriber(TrackQuery(), visible=None, after=start)
    received: list[int] = []
    for batch, take in zip(batches, takes, strict=False):
        subscriber.offer_many([change(seq) for seq in batch], [True] * len(batch))
        if take:
            received += pending(subscriber)
    received += pending(subscriber)
    assert all(seq > start for seq in received)
    assert received == sorted(set(received))

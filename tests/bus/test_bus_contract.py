"""The change bus contract: every implementation must pass every case here.

A bus carries each picture's changes from its publisher to every subscriber. The NATS
bus runs as two gateways would: one instance publishes, another's subscribers receive.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats
import pytest
from nats.js.errors import NotFoundError

from tessera.bus.base import Change, ChangeBus, Subscriber
from tessera.bus.memory import MemoryBus
from tessera.bus.nats import NatsBus
from tessera.codecs.geojson import track_feature
from tessera.codecs.geojson_export import overlay_feature
from tessera.codecs.json import encode
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Source,
    SourceKind,
    Track,
    TrackStatus,
    Velocity,
)
from tessera.core.overlays import Overlay, OverlayKind
from tessera.store.base import TrackQuery
from tests.services import require_service

NATS_HOST, NATS_PORT = "127.0.0.1", 4222
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
PICTURES = ("COP", "REL-UKR")
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
# Around the exercise area; EAST lies outside it.
AREA = TrackQuery(bbox=(17.0, 52.0, 19.0, 54.0))
EAST = 30.0


class Buses:
    """The bus a publisher writes to and the one a gateway's subscribers read from (the
    same one for an in-process bus)."""

    def __init__(self, publisher: ChangeBus, receiver: ChangeBus) -> None:
        self.publisher = publisher
        self.receiver = receiver

    async def settle(self, picture: str, seq: int, bus: ChangeBus | None = None) -> None:
        """Wait until the receiver (or ``bus``) has every change up to ``seq``."""
        target = self.receiver if bus is None else bus
        for _ in range(1000):
            if target.last_seq(picture) >= seq:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{picture} never reached change {seq}")


BusesFactory = Callable[[int], AbstractAsyncContextManager[Buses]]


@asynccontextmanager
async def memory_buses(retained: int) -> AsyncIterator[Buses]:
    bus = MemoryBus(PICTURES, retained=retained)
    yield Buses(bus, bus)


def nats_bus(stream: str, retained: int) -> NatsBus:
    return NatsBus(
        NATS_URL, PICTURES, retained=retained, stream=stream, prefix=f"test.{stream.lower()}"
    )


def nats_buses(stream: str) -> BusesFactory:
    @asynccontextmanager
    async def buses(retained: int) -> AsyncIterator[Buses]:
        publisher, receiver = nats_bus(stream, retained), nats_bus(stream, retained)
        await publisher.open()
        try:
            await receiver.open()
            try:
                yield Buses(publisher, receiver)
            finally:
                await receiver.close()
        finally:
            await publisher.close()

    return buses


async def delete_stream(stream: str) -> None:
    nc = await nats.connect(NATS_URL)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


@pytest.fixture
def nats_stream() -> Iterator[str]:
    """A stream name of the test's own, removed afterwards."""
    require_service("NATS", NATS_HOST, NATS_PORT)
    stream = f"TEST_BUS_{uuid.uuid4().hex[:12].upper()}"
    yield stream
    asyncio.run(delete_stream(stream))


@pytest.fixture(params=["memory", "nats"])
def open_buses(request: pytest.FixtureRequest) -> BusesFactory:
    if request.param == "memory":
        return memory_buses
    stream: str = request.getfixturevalue("nats_stream")
    return nats_buses(stream)


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def track(track_id: str, lon: float = 18.0, *, grading: str = "B2") -> Track:
    return Track(
        id=track_id,
        position=Position(lat=53.0, lon=lon, alt=80.0),
        velocity=Velocity(course=90.0, speed=11.0),
        identity=Identity.HOSTILE,
        identity_confidence=0.8,
        sidc="10061500001101000000",
        status=TrackStatus.CONFIRMED,
        first_at=NOW,
        updated_at=NOW,
        subject=None,
        quantity=12,
        grading=Grading.parse(grading),
        label=Label("RESTRICTED", ("NATO",)),
        sources=(Source("uav-17", SourceKind.UAV),),
        # A bus need not carry a track's lineage (the NATS bus leaves it out: see the
        # publish-only test below); the contract is about everything else.
        lineage=(),
        report_count=2,
    )


def upsert(seq: int, item: Track) -> Change:
    return Change(seq, item.id, item, msgspec.Raw(encode(track_feature(item))))


def removal(seq: int, track_id: str) -> Change:
    return Change(seq, track_id, None, None)


async def taken(subscriber: Subscriber) -> list[Change]:
    return await asyncio.wait_for(subscriber.take(), 10)


def test_attached_subscribers_receive_matching_changes_in_order(
    open_buses: BusesFactory,
) -> None:
    async def scenario() -> None:
        async with open_buses(100) as buses:
            subscriber = Subscriber(AREA, visible=[])
            assert buses.receiver.attach("COP", subscriber, None) is False
            changes = [upsert(1, track("t1")), upsert(2, track("t2")), upsert(3, track("t3", EAST))]
            buses.publisher.publish("COP", changes)
            await buses.settle("COP", 3)
            assert await taken(subscriber) == changes[:2]
            assert buses.receiver.last_seq("COP") == 3

    run(scenario())


def test_a_slow_subscriber_gets_the_latest_change_per_item(open_buses: BusesFactory) -> None:
    async def scenario() -> None:
        async with open_buses(100) as buses:
            subscriber = Subscriber(TrackQuery(), visible=[])
            buses.receiver.attach("COP", subscriber, None)
            buses.publisher.publish("COP", [upsert(1, track("t1", grading="C3"))])
            await buses.settle("COP", 1)
            latest = upsert(2, track("t1", grading="A1"))
            other = upsert(3, track("t2"))
            buses.publisher.publish("COP", [latest, other])
            await buses.settle("COP", 3)
            assert await taken(subscriber) == [latest, other]
            assert subscriber.pending_count() == 0

    run(scenario())


def test_since_inside_the_window_resumes_with_what_was_missed(open_buses: BusesFactory) -> None:
    async def scenario() -> None:
        async with open_buses(5) as buses:
            changes = [upsert(seq, track(f"t{seq}")) for seq in range(1, 9)]
            buses.publisher.publish("COP", changes)
            await buses.settle("COP", 8)
            resumed = Subscriber(TrackQuery(), visible=None)
            assert buses.receiver.attach("COP", resumed, 4) is True
            assert await taken(resumed) == changes[4:]
            current = Subscriber(TrackQuery(), visible=None)
            assert buses.receiver.attach("COP", current, 8) is True
            assert current.pending_count() == 0

    run(scenario())


def test_since_outside_the_window_asks_for_a_snapshot(open_buses: BusesFactory) -> None:
    async def scenario() -> None:
        async with open_buses(5) as buses:
            buses.publisher.publish("COP", [upsert(seq, track(f"t{seq}")) for seq in range(1, 9)])
            await buses.settle("COP", 8)
            too_old = Subscriber(TrackQuery(), visible=None)
            assert buses.receiver.attach("COP", too_old, 1) is False
            assert too_old.pending_count() == 0
            # A sequence number from the future (another deployment, or a reset picture).
            unknown = Subscriber(TrackQuery(), visible=None)
            assert buses.receiver.attach("COP", unknown, 9) is False
            assert unknown.pending_count() == 0
            assert buses.receiver.subscriber_count("COP") == 2

    run(scenario())


def test_a_detached_subscriber_receives_nothing_more(open_buses: BusesFactory) -> None:
    async def scenario() -> None:
        async with open_buses(100) as buses:
            subscriber = Subscriber(TrackQuery(), visible=[])
            buses.receiver.attach("COP", subscriber, None)
            assert buses.receiver.subscriber_count("COP") == 1
            buses.receiver.detach("COP", subscriber)
            assert buses.receiver.subscriber_count("COP") == 0
            buses.publisher.publish("COP", [upsert(1, track("t1"))])
            await buses.settle("COP", 1)
            assert subscriber.pending_count() == 0

    run(scenario())


def test_each_picture_has_its_own_sequence_and_subscribers(open_buses: BusesFactory) -> None:
    async def scenario() -> None:
        async with open_buses(100) as buses:
            partner = Subscriber(TrackQuery(), visible=[])
            buses.receiver.attach("REL-UKR", partner, None)
            buses.publisher.publish("COP", [upsert(seq, track(f"t{seq}")) for seq in (1, 2, 3)])
            released = upsert(1, track("u1"))
            buses.publisher.publish("REL-UKR", [released])
            await buses.settle("COP", 3)
            await buses.settle("REL-UKR", 1)
            assert buses.receiver.last_seq("COP") == 3
            assert buses.receiver.last_seq("REL-UKR") == 1
            assert await taken(partner) == [released]
            with pytest.raises(KeyError):
                buses.publisher.publish("NO-SUCH-PICTURE", [released])

    run(scenario())


def test_a_track_leaving_the_filter_is_sent_as_a_removal(open_buses: BusesFactory) -> None:
    async def scenario() -> None:
        async with open_buses(100) as buses:
            subscriber = Subscriber(AREA, visible=[])
            buses.receiver.attach("COP", subscriber, None)
            inside = upsert(1, track("t1"))
            buses.publisher.publish("COP", [inside])
            await buses.settle("COP", 1)
            assert await taken(subscriber) == [inside]
            buses.publisher.publish("COP", [upsert(2, track("t1", EAST)), removal(3, "t9")])
            await buses.settle("COP", 3)
            # t9 was never in the subscriber's view: nothing to remove.
            assert await taken(subscriber) == [removal(2, "t1")]

    run(scenario())


def test_overlay_changes_travel_with_their_overlay(open_buses: BusesFactory) -> None:
    async def scenario() -> None:
        async with open_buses(100) as buses:
            subscriber = Subscriber(AREA, visible=[])
            buses.receiver.attach("COP", subscriber, None)
            overlay = Overlay(
                id="t1",  # the same id as a track: overlays have their own id space
                name="Objective",
                kind=OverlayKind.CIRCLE,
                coordinates=((18.0, 53.0),),
                radius_m=500.0,
                label=Label("UNCLASSIFIED"),
                updated_at=NOW,
            )
            feature = msgspec.Raw(encode(overlay_feature(overlay)))
            changes = [
                upsert(1, track("t1")),
                Change(2, "t1", None, feature, "overlay", overlay),
            ]
            buses.publisher.publish("COP", changes)
            await buses.settle("COP", 2)
            assert await taken(subscriber) == changes
            gone = Change(3, "t1", None, None, "overlay")
            buses.publisher.publish("COP", [gone])
            await buses.settle("COP", 3)
            assert await taken(subscriber) == [gone]

    run(scenario())


def test_an_overlay_reaches_the_boxes_its_shape_meets(open_buses: BusesFactory) -> None:
    async def scenario() -> None:
        async with open_buses(100) as buses:
            # An L: along the south of AREA, then up its east side.
            bend = Overlay(
                id="route",
                name="Route",
                kind=OverlayKind.LINE,
                coordinates=((17.0, 52.0), (19.0, 52.0), (19.0, 54.0)),
                label=Label("UNCLASSIFIED"),
            )
            inside_the_bend = Subscriber(TrackQuery(bbox=(17.0, 53.0, 18.0, 54.0)), visible=[])
            on_the_leg = Subscriber(TrackQuery(bbox=(18.5, 53.0, 19.5, 53.5)), visible=[])
            for subscriber in (inside_the_bend, on_the_leg):
                buses.receiver.attach("COP", subscriber, None)
            feature = msgspec.Raw(encode(overlay_feature(bend)))
            change = Change(1, "route", None, feature, "overlay", bend)
            buses.publisher.publish("COP", [change, upsert(2, track("t1", EAST))])
            await buses.settle("COP", 2)
            assert await taken(on_the_leg) == [change]
            assert inside_the_bend.pending_count() == 0

    run(scenario())


# -- NATS only: gateways joining later ----------------------------------------------------


def test_a_gateway_joining_later_resumes_from_what_the_stream_retains(nats_stream: str) -> None:
    async def scenario() -> None:
        publisher = nats_bus(nats_stream, 100)
        await publisher.open()
        changes = [upsert(seq, track(f"t{seq}")) for seq in range(1, 6)]
        publisher.publish("COP", changes)
        # The publisher's own subscribers are fed through the stream too.
        await Buses(publisher, publisher).settle("COP", 5)
        late = nats_bus(nats_stream, 100)
        await late.open()
        await Buses(publisher, late).settle("COP", 5)
        resumed = Subscriber(TrackQuery(), visible=None)
        assert late.attach("COP", resumed, 3) is True
        assert await taken(resumed) == changes[3:]
        await late.close()
        await publisher.close()

    run(scenario())


def test_changes_published_before_open_are_sent_once_open(nats_stream: str) -> None:
    async def scenario() -> None:
        publisher = nats_bus(nats_stream, 100)
        first = upsert(1, track("t1"))
        publisher.publish("COP", [first])  # never blocks, even before the connection
        await publisher.open()
        receiver = nats_bus(nats_stream, 100)
        await receiver.open()
        await Buses(publisher, receiver).settle("COP", 1)
        subscriber = Subscriber(TrackQuery(), visible=None)
        assert receiver.attach("COP", subscriber, 0) is True
        assert await taken(subscriber) == [first]
        await receiver.close()
        await publisher.close()

    run(scenario())


def test_a_publish_only_bus_reaches_the_gateways_and_lineage_does_not_travel(
    nats_stream: str,
) -> None:
    async def scenario() -> None:
        # As a fusion worker's: it publishes, and nothing subscribes to it.
        publisher = NatsBus(
            NATS_URL,
            PICTURES,
            retained=100,
            stream=nats_stream,
            prefix=f"test.{nats_stream.lower()}",
            follow=False,
        )
        await publisher.open()
        receiver = nats_bus(nats_stream, 100)
        await receiver.open()
        try:
            with pytest.raises(RuntimeError, match="only publishes"):
                publisher.attach("COP", Subscriber(TrackQuery(), visible=None), None)
            full = msgspec.structs.replace(track("t1"), lineage=("r1", "r2"), report_count=9)
            publisher.publish("COP", [upsert(1, full)])
            await Buses(publisher, receiver).settle("COP", 1)
            subscriber = Subscriber(TrackQuery(), visible=None)
            assert receiver.attach("COP", subscriber, 0) is True
            (arrived,) = await taken(subscriber)
            assert arrived.track == msgspec.structs.replace(full, lineage=())
            assert arrived.feature == upsert(1, full).feature
        finally:
            await receiver.close()
            await publisher.close()

    run(scenario())

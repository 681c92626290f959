"""Fencing of the change feed on the real NATS: a publisher marks each picture with its
lease epoch, its seqs go on above everything published before, a deposed publisher's
messages are refused, and followers drop what an older epoch sends after a newer one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import nats
import pytest

from tessera.bus.base import Subscriber
from tessera.bus.nats import NatsBus
from tessera.bus.nats_epochs import EPOCH_HEADER, SEQ_HEADER
from tessera.cluster.fence import Fence, FencedError
from tessera.store.base import TrackQuery
from tests.bus.test_bus_contract import (
    NATS_HOST,
    NATS_PORT,
    NATS_URL,
    PICTURES,
    delete_stream,
    taken,
    track,
    upsert,
)
from tests.services import require_service

COP = PICTURES[0]


@pytest.fixture
def stream() -> Iterator[str]:
    """A stream name of the test's own, removed afterwards."""
    require_service("NATS", NATS_HOST, NATS_PORT)
    name = f"TEST_EPOCHS_{uuid.uuid4().hex[:12].upper()}"
    yield name
    asyncio.run(delete_stream(name))


def bus(stream: str, *, follow: bool = True) -> NatsBus:
    prefix = f"test.{stream.lower()}"
    return NatsBus(NATS_URL, PICTURES, retained=100, stream=stream, prefix=prefix, follow=follow)


async def until(condition: asyncio.Event) -> None:
    await asyncio.wait_for(condition.wait(), 10)


async def settled(receiver: NatsBus, seq: int) -> None:
    for _ in range(1000):
        if receiver.last_seq(COP) >= seq:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached change {seq}")


def test_a_new_epoch_goes_on_above_and_the_old_publisher_is_refused(stream: str) -> None:
    async def scenario() -> None:
        old, new, gateway = bus(stream, follow=False), bus(stream), bus(stream)
        for each in (old, new, gateway):
            await each.open()
        try:
            subscriber = Subscriber(TrackQuery(), visible=None)
            gateway.attach(COP, subscriber, None)
            old.fence = Fence({COP: 5})
            assert await old.begin_epoch(COP, 5) == 0
            old.publish(COP, [upsert(1, track("a")), upsert(2, track("b"))])
            await settled(gateway, 2)
            # A successor takes over: its seqs go on above the old publisher's.
            assert await new.begin_epoch(COP, 9) == 2
            new.publish(COP, [upsert(3, track("a", 18.5))])
            await settled(gateway, 3)
            # The old publisher, resumed, is refused: it finds itself deposed.
            assert old.fence is not None
            old.publish(COP, [upsert(3, track("c"))])
            await until(old.fence.deposed)
            assert "epoch 9" in old.fence.reason
            got = [change.seq for change in await taken(subscriber)]
            assert got == sorted(got) and got[-1] == 3
            # And the old epoch cannot mark the subject again.
            with pytest.raises(FencedError):
                await old.begin_epoch(COP, 5)
        finally:
            for each in (old, new, gateway):
                await each.close()

    asyncio.run(scenario())


def test_followers_drop_an_older_epoch_after_a_newer_ones_first(stream: str) -> None:
    async def scenario() -> None:
        publisher, gateway = bus(stream, follow=False), bus(stream)
        await publisher.open()
        await gateway.open()
        nc = await nats.connect(NATS_URL)
        try:
            subscriber = Subscriber(TrackQuery(), visible=None)
            gateway.attach(COP, subscriber, None)
            await publisher.begin_epoch(COP, 9)
            publisher.publish(COP, [upsert(1, track("a"))])
            await settled(gateway, 1)
            assert [change.seq for change in await taken(subscriber)] == [1]
            # A message of an older epoch, as a deposed worker's would be (sent here
            # around the chain that stops it in the stream itself).
            stale = b'[{"seq":7,"item_id":"x","track":null,"feature":null}]'
            subject = f"test.{stream.lower()}.{COP}"
            await nc.jetstream().publish(subject, stale, headers={EPOCH_HEADER: "5"})
            publisher.publish(COP, [upsert(2, track("b"))])
            await settled(gateway, 2)
            assert [change.seq for change in await taken(subscriber)] == [2]
            assert gateway.last_seq(COP) == 2
        finally:
            await nc.close()
            await publisher.close()
            await gateway.close()

    asyncio.run(scenario())


def test_nothing_is_published_while_the_fence_does_not_hold(stream: str) -> None:
    async def scenario() -> None:
        holding = True
        publisher = bus(stream, follow=False)
        await publisher.open()
        nc = await nats.connect(NATS_URL)
        try:
            publisher.fence = Fence({COP: 4}, lambda: holding)
            await publisher.begin_epoch(COP, 4)
            holding = False  # a renewal is late: the lease may be a successor's
            publisher.publish(COP, [upsert(1, track("a"))])
            js = nc.jetstream()
            subject = f"test.{stream.lower()}.{COP}"
            for _ in range(20):
                await asyncio.sleep(0.02)
                last = await js.get_last_msg(stream, subject)
                assert last.headers is not None and last.headers[SEQ_HEADER] == "0"
            holding = True  # renewed: what waited goes out
            for _ in range(500):
                last = await js.get_last_msg(stream, subject)
                if last.headers is not None and last.headers[SEQ_HEADER] == "1":
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the change was never published")
        finally:
            await nc.close()
            await publisher.close()

    asyncio.run(scenario())

"""A gateway's follower of the change stream starts from the seq its copy of each picture
holds: what is before it (at most ``retained`` changes) only refills the window for
``since``; subscribers get only what is newer."""

from __future__ import annotations

import asyncio
import logging

import nats
import pytest

from tessera.bus.base import Change, Subscriber
from tessera.bus.nats import encode_changes
from tessera.bus.nats_epochs import SEQ_HEADER
from tessera.bus.nats_position import first_message_after
from tessera.store.base import TrackQuery
from tests.bus.test_bus_contract import NATS_URL, nats_bus, taken, track, upsert
from tests.bus.test_bus_contract import nats_stream as nats_stream  # the fixture


def prefix(stream: str) -> str:
    return f"test.{stream.lower()}"


async def publish_one_per_message(stream: str, picture: str, changes: list[Change]) -> None:
    """Each change in a message of its own, as a busy publisher's would be."""
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        subject = f"{prefix(stream)}.{picture}"
        for change in changes:
            ((payload, _),) = encode_changes([change], 1 << 20)
            await js.publish(subject, payload)
    finally:
        await nc.close()


def changes(first: int, last: int, name: str = "t") -> list[Change]:
    return [upsert(seq, track(f"{name}{seq}")) for seq in range(first, last + 1)]


def test_the_start_is_the_first_message_with_a_change_after_the_seq(nats_stream: str) -> None:
    async def scenario() -> None:
        # Opening a bus makes the stream; the two pictures' messages interleave.
        bus = nats_bus(nats_stream, 10)
        await bus.open()
        await bus.close()
        for first in range(1, 40, 10):
            await publish_one_per_message(nats_stream, "COP", changes(first, first + 9))
            await publish_one_per_message(nats_stream, "REL-UKR", changes(first, first + 4))
        # Stream seqs: COP 1..10 at 1..10, REL-UKR 1..5 at 11..15, COP 11..20 at 16..25,
        # REL-UKR 11..15 at 26..30 and so on, up to COP 31..40 and REL-UKR 31..35 at 46..60.
        nc = await nats.connect(NATS_URL)
        try:
            js = nc.jetstream()
            cop, rel = f"{prefix(nats_stream)}.COP", f"{prefix(nats_stream)}.REL-UKR"
            assert await first_message_after(js, nats_stream, cop, -5) == 1
            assert await first_message_after(js, nats_stream, cop, 0) == 1
            assert await first_message_after(js, nats_stream, cop, 9) == 10
            assert await first_message_after(js, nats_stream, cop, 10) == 16
            assert await first_message_after(js, nats_stream, cop, 15) == 21
            assert await first_message_after(js, nats_stream, cop, 33) == 49
            assert await first_message_after(js, nats_stream, cop, 40) == 61
            assert await first_message_after(js, nats_stream, rel, 7) == 26
            assert await first_message_after(js, nats_stream, rel, 20) == 41
            empty = f"{prefix(nats_stream)}.EMPTY"
            assert await first_message_after(js, nats_stream, empty, -5) == 61
            # A message stating its seq in a header (a publisher's epoch marker holds no
            # change and states the highest before it) is placed by what it states.
            await js.publish(cop, b"[]", headers={SEQ_HEADER: "40"})
            await publish_one_per_message(nats_stream, "COP", changes(41, 42))
            assert await first_message_after(js, nats_stream, cop, 39) == 55
            assert await first_message_after(js, nats_stream, cop, 40) == 62
        finally:
            await nc.close()

    asyncio.run(scenario())


def test_a_follower_refills_its_window_before_the_held_seq_and_delivers_only_newer(
    nats_stream: str,
) -> None:
    async def scenario() -> None:
        publisher = nats_bus(nats_stream, 10)
        await publisher.open()
        await publish_one_per_message(nats_stream, "COP", changes(1, 50))
        # A gateway whose copy of COP holds seq 40 (and nothing of REL-UKR).
        gateway = nats_bus(nats_stream, 10)
        await gateway.open({"COP": 40, "REL-UKR": 0})
        try:
            # Attached before anything arrives: without its own start it would get the
            # window's refill too.
            listening = Subscriber(TrackQuery(), visible=None)
            gateway.attach("COP", listening, None)
            for _ in range(1000):
                if gateway.last_seq("COP") >= 50:
                    break
                await asyncio.sleep(0.01)
            assert [c.seq for c in await taken(listening)] == list(range(41, 51))
            # The window holds the 10 before the end: a client at 40 resumes.
            resumed = Subscriber(TrackQuery(), visible=None)
            assert gateway.attach("COP", resumed, 40) is True
            assert [c.seq for c in await taken(resumed)] == list(range(41, 51))
            publisher.publish("COP", changes(51, 51))
            assert [c.seq for c in await taken(listening)] == [51]
        finally:
            await gateway.close()
            await publisher.close()

    asyncio.run(scenario())


def test_a_follower_reads_nothing_before_the_window_of_the_held_seq(
    nats_stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        publisher = nats_bus(nats_stream, 10)
        await publisher.open()
        await publisher.close()
        nc = await nats.connect(NATS_URL)
        try:
            # Long before the window: a follower reading it would complain.
            await nc.jetstream().publish(f"{prefix(nats_stream)}.COP", b"not changes")
        finally:
            await nc.close()
        await publish_one_per_message(nats_stream, "COP", changes(1, 50))
        gateway = nats_bus(nats_stream, 10)
        await gateway.open({"COP": 45})
        try:
            for _ in range(1000):
                if gateway.last_seq("COP") >= 50:
                    break
                await asyncio.sleep(0.01)
            assert gateway.attach("COP", Subscriber(TrackQuery(), visible=None), 40) is True
        finally:
            await gateway.close()

    with caplog.at_level(logging.ERROR, logger="tessera.bus.nats"):
        asyncio.run(scenario())
    assert not [record for record in caplog.records if "undecodable" in record.message]

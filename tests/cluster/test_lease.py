"""The fusion lease on the real NATS: one holder per picture, all of a worker's pictures
or none, handed over on close, lost to whoever holds it after a pause past the TTL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import nats
import pytest

from tessera.cluster.lease import FusionLease, LeaseLostError, lease_key, picture_keys
from tessera.settings import Settings
from tests.cluster.processes import NATS_URL
from tests.services import require_service

TTL = 1.0


@pytest.fixture
def bucket() -> Iterator[str]:
    require_service("NATS", "127.0.0.1", 4222)
    name = f"TEST_LEASE_{secrets.token_hex(4).upper()}"
    yield name

    async def remove() -> None:
        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().delete_key_value(name)
        finally:
            await nc.close()

    asyncio.run(remove())


def lease(bucket: str, holder: str, *pictures: str) -> FusionLease:
    keys = picture_keys(pictures)
    return FusionLease([NATS_URL], bucket=bucket, ttl=TTL, holder=holder, keys=keys)


class Holders:
    """Leases taken in a test, each renewed by a task of its own until the test ends."""

    def __init__(self) -> None:
        self.renewing: list[asyncio.Task[None]] = []

    async def taken(self, candidate: FusionLease, within: float) -> bool:
        """Whether ``candidate`` gets its lease in time; it then keeps renewing it."""
        if not await candidate.acquire(timeout=within):
            return False
        self.renewing.append(asyncio.create_task(candidate.hold()))
        return True

    def stop(self) -> None:
        for task in self.renewing:
            task.cancel()


def test_a_worker_takes_all_its_pictures_or_none_and_hands_them_over(bucket: str) -> None:
    async def scenario() -> None:
        holders = Holders()
        first = lease(bucket, "first", "A", "B")
        # Keys are taken in order: the second worker gets AB, then finds B held.
        second = lease(bucket, "second", "B", "AB")
        third = lease(bucket, "third", "AB")
        for each in (first, second, third):
            await each.open()
        try:
            assert await holders.taken(first, 2)
            # B is held: the second worker waits, and gives back AB while it waits, so
            # AB is free for the third.
            assert not await holders.taken(second, 1.5)
            assert await holders.taken(third, 3)
            await first.close()  # hands A and B over at once
            assert not await holders.taken(second, 1.0)  # AB is still the third's
            await third.close()
            assert await holders.taken(second, 2)
        finally:
            holders.stop()
            for each in (first, second, third):
                await each.close()

    asyncio.run(scenario())


def test_a_holder_paused_past_the_ttl_finds_its_lease_gone(bucket: str) -> None:
    async def scenario() -> None:
        holders = Holders()
        paused = lease(bucket, "paused", "A")
        successor = lease(bucket, "successor", "A")
        await paused.open()
        await successor.open()
        try:
            assert await paused.acquire(timeout=2)
            # Never renewed: the key expires and the successor takes it.
            assert await holders.taken(successor, 5 * TTL)
            with pytest.raises(LeaseLostError, match="passed to another worker"):
                await asyncio.wait_for(paused.hold(), 5 * TTL)
            assert all(not task.done() for task in holders.renewing)
        finally:
            holders.stop()
            await paused.close()
            await successor.close()

    asyncio.run(scenario())


def test_lease_keys_are_valid_for_any_picture_name() -> None:
    assert lease_key("NATO-SECRET") == "fusion.NATO-SECRET"
    assert lease_key("a.b c") != lease_key("a_b c")
    assert " " not in lease_key("a b") and lease_key("a.b").count(".") == 1


def test_fusion_pictures_must_name_pictures_and_belong_to_a_fusion_worker() -> None:
    with pytest.raises(ValueError, match="no picture named NOPE"):
        Settings(
            role="fusion",
            journal_backend="jetstream",
            bus_backend="nats",
            postgis_dsn="postgresql://x/y",
            fusion_pictures=("NOPE",),
        ).validate()
    with pytest.raises(ValueError, match="fusion_pictures is for role 'fusion'"):
        Settings(fusion_pictures=("COP",)).validate()

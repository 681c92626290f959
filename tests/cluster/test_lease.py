"""The fusion lease on the real NATS: one holder per picture, all of a worker's pictures
or none, handed over on close, lost to whoever holds it after a pause past the TTL."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import nats
import pytest
from nats.js.errors import APIError, KeyNotFoundError

from tessera.cluster.lease import FusionLease, LeaseLostError, lease_key, picture_keys
from tessera.cluster.lease_keys import LeaseKeys
from tessera.settings import Settings
from tests.cluster.processes import NATS_URL

TTL = 1.0


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
            assert paused.valid()
            held = asyncio.create_task(paused.hold())
            # The whole holder stops (as under SIGSTOP): its renewal thread too.
            pausing = asyncio.create_task(asyncio.to_thread(freeze_renewal, paused, 3 * TTL))
            # Never renewed: the key expires and the successor takes it.
            assert await holders.taken(successor, 5 * TTL)
            await pausing
            # Resumed: no longer valid at once, before any renewal has been tried.
            assert not paused.valid()
            with pytest.raises(LeaseLostError, match="passed to another worker"):
                await asyncio.wait_for(held, 5 * TTL)
            assert all(not task.done() for task in holders.renewing), [
                t.exception() for t in holders.renewing if t.done()
            ]
            # The successor took it with a later revision: its fencing token.
            assert successor.epochs[lease_key("A")] > 0
        finally:
            holders.stop()
            await paused.close()
            await successor.close()

    asyncio.run(scenario())


def freeze_renewal(holder: FusionLease, seconds: float) -> None:
    """Block ``holder``'s lease thread for ``seconds``; returns once that is over."""
    loop = holder._thread_loop
    assert loop is not None
    blocked = threading.Event()

    def block() -> None:
        blocked.set()
        time.sleep(seconds)

    loop.call_soon_threadsafe(block)
    blocked.wait()
    time.sleep(seconds)


def slow_fusion_step() -> None:
    """A fusion step that keeps the event loop for longer than the TTL."""
    time.sleep(1.5 * TTL)


def test_slow_fusion_steps_on_the_event_loop_do_not_lose_the_lease(bucket: str) -> None:
    async def scenario() -> None:
        holder = lease(bucket, "holder", "A")
        contender = lease(bucket, "contender", "A")
        await holder.open()
        await contender.open()
        try:
            assert await holder.acquire(timeout=2)
            epoch = holder.epochs[lease_key("A")]
            held = asyncio.create_task(holder.hold())
            contending = asyncio.create_task(contender.acquire(timeout=5 * TTL))
            await asyncio.sleep(0)
            for _ in range(4):
                slow_fusion_step()
                assert holder.valid()
                await asyncio.sleep(0)
            assert not await contending
            assert not held.done()
            assert holder.valid()
            assert holder.epochs == {lease_key("A"): epoch}
            held.cancel()
        finally:
            await holder.close()
            await contender.close()

    asyncio.run(scenario())


def test_a_key_expiring_while_it_is_created_is_taken_on_the_next_attempt(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        nc = await nats.connect(NATS_URL)
        try:
            js = nc.jetstream()
            kv = await js.create_key_value(bucket=bucket, ttl=TTL, history=1)
            previous = LeaseKeys(kv, ["fusion.A"], b"previous")
            assert await previous.take()
            first_epoch = previous.epochs["fusion.A"]
            await previous.give_back()  # leaves a delete marker
            # The client's create fails on revision 0 (the marker), then reads the key
            # to find the marker: here it has expired in between, once.
            read = kv._get

            async def expired_once(key: str, revision: int | None = None) -> Any:
                monkeypatch.setattr(kv, "_get", read)
                raise KeyNotFoundError

            monkeypatch.setattr(kv, "_get", expired_once)
            contender = LeaseKeys(kv, ["fusion.A"], b"contender")
            assert not await contender.take()
            assert await contender.take()
            assert contender.epochs["fusion.A"] > first_epoch
        finally:
            await nc.close()

    asyncio.run(scenario())


def test_the_lease_bucket_is_made_with_the_replicas_asked_for(bucket: str) -> None:
    async def scenario() -> None:
        # The machine's NATS is one server: three replicas cannot be placed, and it says so.
        holder = FusionLease(
            [NATS_URL], bucket=bucket, ttl=TTL, holder="h", keys=["fusion.A"], replicas=3
        )
        with pytest.raises(APIError, match=r"(?i)replicas|resources"):
            await holder.open()

    asyncio.run(scenario())


def test_a_released_lease_is_taken_again_under_a_newer_epoch(bucket: str) -> None:
    async def scenario() -> None:
        holder = lease(bucket, "holder", "A")
        await holder.open()
        try:
            assert await holder.acquire(timeout=2)
            first = holder.epochs[lease_key("A")]
            await holder.release()
            assert not holder.valid() and not holder.epochs
            # Given back at once: taken again without waiting for the TTL.
            assert await holder.acquire(timeout=TTL / 2)
            assert holder.epochs[lease_key("A")] > first
        finally:
            await holder.close()

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

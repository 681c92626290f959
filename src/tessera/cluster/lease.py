"""The fusion lease: one key per picture in a JetStream key-value bucket whose entries
expire, so each picture has exactly one active fusion worker.

Whoever creates a picture's key holds that picture; creating it again fails while it
exists. A worker takes the keys of every picture it fuses, or none: when one is held by
another worker it gives back those it got and tries again later, so two workers never
each sit on half of what the other needs. The holder renews its keys well within the
bucket's time to live, each renewal conditional on the revision it last wrote, so a
holder that was paused past the TTL (and replaced) finds out at its next renewal instead
of carrying on beside its successor. A holder that dies stops renewing; the keys expire
and a standby's next attempt succeeds. No home-made protocol: JetStream's own
compare-and-set and message expiry do the work.

Renewal never waits on fusion work (DESIGN §10): the lease runs in a thread of its own,
with its own event loop and NATS connection, so a long synchronous fusion step on the
caller's loop cannot make it miss a renewal. The caller learns of a loss through
``hold()`` (woken thread-safely) and asks ``valid()`` before any effect a successor must
not see doubled: it answers from the clock alone, so a process resumed after a pause past
the TTL knows at once, before any network round trip.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeVar

import nats
import nats.errors
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from tessera.cluster.fence import ARCHIVE_FENCE
from tessera.cluster.lease_keys import LeaseKeys, LeaseLostError
from tessera.journal.jetstream_codec import token

log = logging.getLogger(__name__)

__all__ = ["ARCHIVE_KEY", "FusionLease", "LeaseLostError", "lease_key", "picture_keys"]

# Renew three times per TTL; a standby tries four times per TTL.
RENEWALS_PER_TTL: Final = 3
ATTEMPTS_PER_TTL: Final = 4
# How long after a renewal (or the create) was sent the holder counts on its keys: the
# keys expire a TTL after the server wrote them, which is later still.
VALID_FRACTION: Final = 0.75
# Renewals failing (NATS away) are retried until this much of the TTL has passed.
RETRY_FRACTION: Final = 0.9

# Whoever holds it writes the journal's reports to PostGIS (``store/report_archive``),
# under the fence row of the same name.
ARCHIVE_KEY: Final = ARCHIVE_FENCE

T = TypeVar("T")


def lease_key(picture: str) -> str:
    return f"fusion.{token(picture)}"


def picture_keys(pictures: Sequence[str]) -> list[str]:
    return [lease_key(picture) for picture in pictures]


class FusionLease:
    def __init__(
        self,
        servers: Sequence[str],
        *,
        bucket: str,
        ttl: float,
        holder: str,
        keys: Sequence[str],
        replicas: int = 1,
    ) -> None:
        self._servers = list(servers)
        self._bucket = bucket
        self._ttl = ttl
        self._replicas = replicas
        self._holder = holder
        if not keys:
            raise ValueError("a lease needs at least one key")
        self._key_names = list(keys)
        # Set once open; the lease thread's own.
        self._keys: LeaseKeys | None = None
        self._nc: Client | None = None
        self._kv: KeyValue | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._renewing: asyncio.Task[None] | None = None
        # The caller's side.
        self._caller_loop: asyncio.AbstractEventLoop | None = None
        self._lost = asyncio.Event()
        self._lost_reason = ""
        # time.monotonic() until which the keys are certainly this holder's; written by
        # the lease thread, read by the caller (a float: replaced whole).
        self._valid_until = 0.0
        self._epochs: Mapping[str, int] = MappingProxyType({})

    # -- the caller's interface ----------------------------------------------------------

    async def open(self) -> None:
        self._caller_loop = asyncio.get_running_loop()
        loop = asyncio.new_event_loop()
        self._thread_loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"lease-{self._bucket}", daemon=True
        )
        self._thread.start()
        try:
            await self._in_thread(self._connect())
        except BaseException:
            await self._stop_thread()
            raise

    async def close(self) -> None:
        if self._thread_loop is None:
            return
        try:
            await self._in_thread(self._shut())
        finally:
            await self._stop_thread()

    async def release(self) -> None:
        """Stop renewing and give the keys back (if still ours), to take them again
        later with ``acquire``."""
        await self._in_thread(self._release())

    async def acquire(self, timeout: float | None = None) -> bool:
        """Wait until this process holds the lease of every one of its pictures (True),
        or until ``timeout`` seconds have passed without (False). Once held, the keys
        are renewed in the lease's thread until lost or closed."""
        self._lost = asyncio.Event()
        self._lost_reason = ""
        return await self._in_thread(self._acquire(timeout))

    async def hold(self) -> None:
        """Wait while the lease is held; raise LeaseLostError once another process may
        have one of the pictures (returns only by cancellation)."""
        await self._lost.wait()
        raise LeaseLostError(self._lost_reason)

    def valid(self) -> bool:
        """Whether the keys are certainly still this holder's: no successor can hold
        any of them while True. From the clock alone, without a network round trip."""
        return time.monotonic() < self._valid_until

    async def holder_of(self, key: str) -> str | None:
        """Who holds ``key`` now, as it wrote itself there (None: nobody)."""
        return await self._in_thread(self._holder_of(key))

    @property
    def epochs(self) -> Mapping[str, int]:
        """Per key, the revision of the create that took it: the fencing token, strictly
        increasing from holder to holder. Empty while not held."""
        return self._epochs

    # -- the lease thread ----------------------------------------------------------------

    def _in_thread(self, work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        if self._thread_loop is None:
            work.close()
            raise RuntimeError("the lease is not open")
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._thread_loop))

    async def _stop_thread(self) -> None:
        loop, thread = self._thread_loop, self._thread
        self._thread_loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)
        loop.close()

    async def _connect(self) -> None:
        nc = await nats.connect(servers=self._servers, name=f"lease:{self._holder}")
        js = nc.jetstream()
        kv: KeyValue
        try:
            try:
                kv = await js.key_value(self._bucket)
            except NotFoundError:
                kv = await js.create_key_value(
                    bucket=self._bucket, ttl=self._ttl, history=1, replicas=self._replicas
                )
        except BaseException:
            await nc.close()
            raise
        self._nc = nc
        self._kv = kv
        self._keys = LeaseKeys(kv, self._key_names, self._holder.encode())

    async def _holder_of(self, key: str) -> str | None:
        if self._kv is None:
            raise RuntimeError("the lease is not open")
        try:
            entry = await self._kv.get(key)
        except (NotFoundError, nats.errors.Error, TimeoutError):
            return None
        return None if not entry.value else entry.value.decode(errors="replace")

    async def _release(self) -> None:
        self._valid_until = 0.0
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
            self._renewing = None
        if self._keys is not None:
            await self._keys.give_back()
        self._epochs = MappingProxyType({})

    async def _shut(self) -> None:
        await self._release()
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None

    async def _acquire(self, timeout: float | None) -> bool:
        keys = self._require()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            started = time.monotonic()
            try:
                taken = await keys.take()
            except (TimeoutError, nats.errors.Error) as exc:
                log.warning("taking the fusion lease failed, retrying: %s", exc)
                await keys.give_back()
                taken = False
            if taken:
                self._epochs = MappingProxyType(dict(keys.epochs))
                self._valid_until = started + self._ttl * VALID_FRACTION
                self._renewing = loop.create_task(self._renew(started), name="lease-renewal")
                return True
            # Spread out, so that competing workers do not retry in step.
            pause = self._ttl / ATTEMPTS_PER_TTL
            pause = random.uniform(0.5 * pause, 1.5 * pause)
            if deadline is not None:
                if loop.time() >= deadline:
                    return False
                pause = min(pause, deadline - loop.time())
            await asyncio.sleep(pause)

    async def _renew(self, renewed: float) -> None:
        keys = self._require()
        while True:
            await asyncio.sleep(self._ttl / RENEWALS_PER_TTL)
            started = time.monotonic()
            try:
                await keys.renew()
            except LeaseLostError as exc:
                self._lose(str(exc))
                return
            except (TimeoutError, nats.errors.Error) as exc:
                # NATS unreachable for a moment: keep trying, but never past the TTL,
                # after which a standby may already hold the lease.
                if time.monotonic() - renewed >= self._ttl * RETRY_FRACTION:
                    self._lose(f"could not renew the fusion lease: {exc}")
                    return
                log.warning("renewing the fusion lease failed, retrying: %s", exc)
                continue
            renewed = started
            self._valid_until = started + self._ttl * VALID_FRACTION

    def _lose(self, reason: str) -> None:
        self._valid_until = 0.0
        caller = self._caller_loop
        if caller is not None and not caller.is_closed():
            caller.call_soon_threadsafe(self._signal_lost, reason)

    def _signal_lost(self, reason: str) -> None:
        self._lost_reason = reason
        self._lost.set()

    def _require(self) -> LeaseKeys:
        if self._keys is None:
            raise RuntimeError("the lease is not open")
        return self._keys

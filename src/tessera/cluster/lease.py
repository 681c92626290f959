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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from typing import Final

import nats
from nats.aio.client import Client
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from tessera.journal.jetstream_codec import token

log = logging.getLogger(__name__)

# Renew three times per TTL; a standby tries four times per TTL.
RENEWALS_PER_TTL: Final = 3
ATTEMPTS_PER_TTL: Final = 4


class LeaseLostError(RuntimeError):
    """Another process holds the lease now: this one must stop fusing."""


# Whoever holds it writes the journal's reports to PostGIS (``store/report_archive``).
ARCHIVE_KEY: Final = "archive.reports"


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
        self._replicas = replicas
        self._bucket = bucket
        self._ttl = ttl
        self._holder = holder.encode()
        # Always taken in the same order.
        self._keys = sorted(set(keys))
        if not self._keys:
            raise ValueError("a lease needs at least one key")
        self._nc: Client | None = None
        self._kv: KeyValue | None = None
        # The revision this process last wrote, per key it holds.
        self._revisions: dict[str, int] = {}

    async def open(self) -> None:
        self._nc = await nats.connect(servers=self._servers, name=f"lease:{self._holder!r}")
        js = self._nc.jetstream()
        try:
            self._kv = await js.key_value(self._bucket)
        except NotFoundError:
            # As many copies as the journal's: the lease is as available as what it guards.
            self._kv = await js.create_key_value(
                bucket=self._bucket, ttl=self._ttl, history=1, replicas=self._replicas
            )

    async def close(self) -> None:
        await self._give_back()
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None

    async def _give_back(self) -> None:
        if self._kv is not None:
            for key, revision in self._revisions.items():
                # Handing over at once rather than after the TTL: only if still ours.
                with contextlib.suppress(Exception):
                    await self._kv.delete(key, last=revision)
        self._revisions = {}

    async def acquire(self, timeout: float | None = None) -> bool:
        """Wait until this process holds the lease of every one of its pictures (True),
        or until ``timeout`` seconds have passed without (False)."""
        kv = self._require()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            try:
                for key in self._keys:
                    self._revisions[key] = await kv.create(key, self._holder)
                return True
            except KeyWrongLastSequenceError:
                await self._give_back()
            # Spread out, so that competing workers do not retry in step.
            pause = self._ttl / ATTEMPTS_PER_TTL
            pause = random.uniform(0.5 * pause, 1.5 * pause)
            if deadline is not None:
                if loop.time() >= deadline:
                    return False
                pause = min(pause, deadline - loop.time())
            await asyncio.sleep(pause)

    async def hold(self) -> None:
        """Renew until cancelled; raise LeaseLostError when another process has one of
        the pictures."""
        kv = self._require()
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while True:
            await asyncio.sleep(self._ttl / RENEWALS_PER_TTL)
            key = ""
            try:
                for key in self._keys:
                    self._revisions[key] = await kv.update(
                        key, self._holder, last=self._revisions[key]
                    )
                renewed = loop.time()
            except KeyWrongLastSequenceError:
                # Not ours any more; the others are given back when the lease closes.
                self._revisions.pop(key, None)
                raise LeaseLostError(
                    f"the fusion lease ({key}) has passed to another worker"
                ) from None
            except (TimeoutError, nats.errors.Error) as exc:
                # NATS unreachable for a moment: keep trying, but never past the TTL,
                # after which a standby may already hold the lease.
                if loop.time() - renewed >= self._ttl * 0.9:
                    raise LeaseLostError(f"could not renew the fusion lease: {exc}") from None
                log.warning("renewing the fusion lease failed, retrying: %s", exc)

    def _require(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("the lease is not open")
        return self._kv

"""The fusion lease: one key in a JetStream key-value bucket whose entries expire.

Whoever creates the key holds the lease; creating it again fails while it exists. The
holder renews it well within the bucket's time to live, each renewal conditional on the
revision it last wrote, so a holder that was paused past the TTL (and replaced) finds out
at its next renewal instead of carrying on beside its successor. A holder that dies stops
renewing; the key expires and a standby's next attempt succeeds. No home-made protocol:
JetStream's own compare-and-set and message expiry do the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Final

import nats
from nats.aio.client import Client
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

KEY: Final = "fusion"
# Renew three times per TTL; a standby tries four times per TTL.
RENEWALS_PER_TTL: Final = 3
ATTEMPTS_PER_TTL: Final = 4


class LeaseLostError(RuntimeError):
    """Another process holds the lease now: this one must stop fusing."""


class FusionLease:
    def __init__(self, servers: Sequence[str], *, bucket: str, ttl: float, holder: str) -> None:
        self._servers = list(servers)
        self._bucket = bucket
        self._ttl = ttl
        self._holder = holder.encode()
        self._nc: Client | None = None
        self._kv: KeyValue | None = None
        self._revision: int | None = None

    async def open(self) -> None:
        self._nc = await nats.connect(servers=self._servers, name=f"lease:{self._holder!r}")
        js = self._nc.jetstream()
        try:
            self._kv = await js.key_value(self._bucket)
        except NotFoundError:
            self._kv = await js.create_key_value(bucket=self._bucket, ttl=self._ttl, history=1)

    async def close(self) -> None:
        if self._kv is not None and self._revision is not None:
            # Handing over at once rather than after the TTL: only if still ours.
            with contextlib.suppress(Exception):
                await self._kv.delete(KEY, last=self._revision)
        self._revision = None
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None

    async def acquire(self) -> None:
        """Wait until this process holds the lease."""
        kv = self._require()
        while True:
            try:
                self._revision = await kv.create(KEY, self._holder)
                return
            except KeyWrongLastSequenceError:
                await asyncio.sleep(self._ttl / ATTEMPTS_PER_TTL)

    async def hold(self) -> None:
        """Renew until cancelled; raise LeaseLostError when another process has it."""
        kv = self._require()
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while True:
            await asyncio.sleep(self._ttl / RENEWALS_PER_TTL)
            try:
                self._revision = await kv.update(KEY, self._holder, last=self._revision)
                renewed = loop.time()
            except KeyWrongLastSequenceError:
                self._revision = None
                raise LeaseLostError("the fusion lease has passed to another worker") from None
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

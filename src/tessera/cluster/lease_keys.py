"""The fusion lease's keys in their JetStream key-value bucket: taken all or none, renewed
each on the revision this holder last wrote, handed back only if still ours.

The revision of the create that took a key is the holder's *epoch* for it: the bucket is
one stream, so every later create of the key (by a successor) has a higher revision.
Whatever a holder writes elsewhere carries it as its fencing token (DESIGN §10).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)


class LeaseLostError(RuntimeError):
    """Another process holds the lease now: this one must stop fusing."""


class LeaseKeys:
    """One holder's keys in one bucket (used from one event loop)."""

    def __init__(self, kv: KeyValue, keys: Sequence[str], holder: bytes) -> None:
        self._kv = kv
        # Always taken in the same order.
        self.keys = sorted(set(keys))
        if not self.keys:
            raise ValueError("a lease needs at least one key")
        self._holder = holder
        # The revision this holder last wrote, per key it holds.
        self._revisions: dict[str, int] = {}
        # Per key, the revision of the create that took it (while held).
        self.epochs: dict[str, int] = {}

    async def take(self) -> bool:
        """Create every key (True), or give back those created and return False when one
        is held by another."""
        self.epochs = {}
        try:
            for key in self.keys:
                self._revisions[key] = await self._kv.create(key, self._holder)
        except KeyWrongLastSequenceError:
            await self.give_back()
            return False
        except KeyNotFoundError:
            # The client's create writes on revision 0, and when that fails reads the key
            # to find its delete marker; a marker that expired in between makes that read
            # fail. The key is free now: the caller tries again.
            log.info("a lease key expired while it was being taken; trying again")
            await self.give_back()
            return False
        self.epochs = dict(self._revisions)
        return True

    async def renew(self) -> None:
        """Write every key again on the revision last written; LeaseLostError when one
        has passed to another holder (or expired). NATS errors are the caller's."""
        key = ""
        try:
            for key in self.keys:
                self._revisions[key] = await self._kv.update(
                    key, self._holder, last=self._revisions[key]
                )
        except KeyWrongLastSequenceError:
            # Not ours any more; the others are given back when the lease closes.
            self._revisions.pop(key, None)
            raise LeaseLostError(f"the fusion lease ({key}) has passed to another worker") from None

    async def give_back(self) -> None:
        for key, revision in self._revisions.items():
            # Handing over at once rather than after the TTL: only if still ours.
            with contextlib.suppress(Exception):
                await self._kv.delete(key, last=revision)
        self._revisions = {}
        self.epochs = {}

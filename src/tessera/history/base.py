"""Where history snapshots are kept: one interface, an SQLite file on the embedded default
and a PostGIS table with the scale-out store.

A snapshot is one picture's fusion state (``core.fusion.checkpoint``'s format, compressed
with zlib) and its overlays at a journal position, with the journal time of that position.
Snapshots are taken under a configuration fingerprint (the picture's rule, the fusion settings, the
format): one taken under another is never used. They are bounded like the journal: once
the journal has dropped the entries after a snapshot, it is dropped too.
"""

from __future__ import annotations

import abc
from datetime import datetime

import msgspec


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    picture: str
    # The journal position the state covers, and the journal time of that entry.
    journal_seq: int
    at: datetime
    fingerprint: str
    body: bytes
    overlays: bytes


class SnapshotStore(abc.ABC):
    async def open(self) -> None:  # noqa: B027 - optional: a file needs no connection
        """Connect (and create what the embedded store needs)."""

    async def close(self) -> None:  # noqa: B027 - optional, as above
        """Disconnect."""

    @abc.abstractmethod
    async def save(self, snapshots: list[Snapshot]) -> None:
        """Store these snapshots (one transaction)."""

    @abc.abstractmethod
    async def latest(self, picture: str, fingerprint: str, at: datetime) -> Snapshot | None:
        """The latest snapshot of ``picture`` under ``fingerprint`` taken at or before
        ``at`` (journal time), if any."""

    @abc.abstractmethod
    async def drop_before(self, journal_seq: int) -> int:
        """Drop every snapshot covering less than ``journal_seq`` (the journal has
        dropped what a replay from it would need); how many were dropped."""

    @abc.abstractmethod
    async def count(self, picture: str) -> int:
        """How many snapshots of ``picture`` are kept."""

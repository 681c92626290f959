"""The tracker interface every fusion engine implements (Stone Soup's vocabulary).

A tracker is fed the journal in order. Its only clock is the time it is given (the
journal's ``received_at`` of each report, and tick times when nothing arrives), so feeding
the same journal again, at any speed and in any batch sizes, rebuilds the same picture.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from tessera.core.model import Report, Track


class StepResult(msgspec.Struct, frozen=True):
    """What one step changed: tracks created or updated, and ids of tracks dropped."""

    updated: list[Track]
    removed: list[str]


class Tracker(abc.ABC):
    """Turns a journal-ordered stream of reports into tracks."""

    @abc.abstractmethod
    def step(self, now: datetime, reports: Sequence[Report]) -> StepResult:
        """Apply ``reports`` (journal order, each with ``received_at`` <= ``now``), then
        bring the picture to ``now``: coast and drop tracks that have aged out."""

    @abc.abstractmethod
    def tracks(self) -> Iterable[Track]:
        """The current tracks, dead ones included until they are dropped."""

    @abc.abstractmethod
    def track(self, track_id: str) -> Track | None: ...

    def pending_reports(self) -> int:
        """Reports taken but not yet fused (their micro-batch is still open)."""
        return 0

"""What a fusion worker writes under (DESIGN §10): its lease epochs, one per fence (each
picture by name, the report archive by ``ARCHIVE_FENCE``), shared by everything that
writes for it. Whatever finds a newer epoch deposes the whole worker: from then on it
writes, acknowledges and publishes nothing more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Final

# The report archive's fence row: named as its lease key is.
ARCHIVE_FENCE: Final = "archive.reports"


class FencedError(RuntimeError):
    """A newer epoch holds a fence this writer writes under: it has been replaced."""


class Fence:
    def __init__(self, epochs: Mapping[str, int], valid: Callable[[], bool] = lambda: True) -> None:
        if not epochs or min(epochs.values()) <= 0:
            raise ValueError("a fence needs a positive epoch for each of its names")
        self.epochs: Mapping[str, int] = dict(epochs)
        # The lease's own check (from the clock): False once a successor may hold it.
        self._valid = valid
        self.deposed = asyncio.Event()
        self.reason = ""

    def holds(self) -> bool:
        """Whether writing under these epochs is still this worker's to do."""
        return not self.deposed.is_set() and self._valid()

    def depose(self, reason: str) -> None:
        """A newer epoch was found (the first reason is kept)."""
        if not self.deposed.is_set():
            self.reason = reason
            self.deposed.set()

    def epoch(self, name: str) -> int:
        return self.epochs[name]

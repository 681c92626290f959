"""Trimming the journal after a saved checkpoint (DESIGN §5): the journal drops what its
retention settings let go, never an entry past the position every saved state covers.

One process trims a deployment's journal: in a scale-out deployment, the fusion worker
holding the report archive's lease (``active``), right after it saves a checkpoint; the
position covered is then read from PostGIS (every picture's checkpoint and the archive's
position). A process whose pictures have no checkpoint yet never trims.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from tessera.journal.base import Journal
from tessera.settings import Settings

log = logging.getLogger(__name__)

# Given the position a checkpoint just saved covers: the position every saved state
# covers (None: not known, or some state has none yet).
Coverage = Callable[[int], Awaitable[int | None]]


async def saved_position(position: int) -> int | None:
    """The coverage of a single process's checkpoint (the embedded default): its own."""
    return position


class JournalTrimmer:
    def __init__(self, journal: Journal, coverage: Coverage, *, active: Callable[[], bool]) -> None:
        self._journal = journal
        self._coverage = coverage
        self._active = active

    async def after_checkpoint(self, position: int) -> None:
        """Trim up to what saved states cover; failures are logged (the next checkpoint
        tries again), never raised: a checkpoint stands without its trim."""
        if not self._active():
            return
        try:
            covered = await self._coverage(position)
            if covered is None:
                log.info("journal not trimmed: not every picture has a checkpoint yet")
                return
            await self._journal.trim(covered)
        except Exception as exc:
            log.warning("trimming the journal failed: %s", exc)


def journal_trimmer(
    settings: Settings, journal: Journal, archiving: Callable[[], bool]
) -> JournalTrimmer:
    """Trims after each checkpoint. With PostGIS, up to what every picture's checkpoint
    and the archive cover, in the process writing the archive only (``archiving``); on
    the embedded default, up to the checkpoint just saved."""
    dsn = settings.postgis_dsn
    if dsn is None:
        return JournalTrimmer(journal, saved_position, active=lambda: True)
    # Imported here: the embedded default never loads the PostgreSQL driver.
    from tessera.store.retention import covered_position

    names = [picture.name for picture in settings.pictures]

    async def covered(position: int) -> int | None:
        del position  # another worker's pictures may lag behind this one's
        return await covered_position(dsn, names)

    return JournalTrimmer(journal, covered, active=archiving)

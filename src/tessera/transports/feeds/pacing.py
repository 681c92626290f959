"""A recording replayed at the pace it was recorded: each record is released when the
recording's own clock (``tessera.codecs.recording_time``), divided by the feed's
``replay_speed``, says it is due. Records with no time go with the one before them; a
recording whose time goes backwards (a new segment, a wrapped counter) starts the count
again from there. Records already due are released together, so a replay that falls
behind catches up in large pieces rather than one record at a time."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Final

from tessera.codecs.recording_time import Records

Clock = Callable[[], float]
# Records due together go out in pieces of about this size at most.
MAX_BATCH_BYTES: Final = 64 * 1024
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """When each record is due, on ``clock`` (seconds, monotonic)."""

    def __init__(self, speed: float, clock: Clock) -> None:
        if not speed > 0:
            raise ValueError("the replay speed must be positive")
        self._speed = speed
        self._clock = clock
        self._anchor: tuple[float, float] | None = None  # (recorded, clock) at the start
        self._last: float | None = None

    def wait(self, recorded: float | None) -> float:
        """Seconds to wait before the record recorded at ``recorded`` goes out."""
        if recorded is None:
            return 0.0
        now = self._clock()
        if self._anchor is None or self._last is None or recorded < self._last:
            self._anchor, self._last = (recorded, now), recorded
            return 0.0
        self._last = recorded
        first_recorded, first_clock = self._anchor
        due = first_clock + (recorded - first_recorded) / self._speed
        return max(0.0, due - now)


async def paced(
    chunks: AsyncIterable[bytes], records: Records, pacer: Pacer, sleep: Sleep
) -> AsyncIterator[list[bytes]]:
    """The records of ``chunks``, in batches, each batch when its first record is due."""
    batch: list[bytes] = []
    size = 0
    async for chunk in chunks:
        for record, recorded in records.feed(chunk):
            wait = pacer.wait(recorded)
            if batch and (wait > 0 or size >= MAX_BATCH_BYTES):
                yield batch
                batch, size = [], 0
            if wait > 0:
                await sleep(wait)
            batch.append(record)
            size += len(record)
    batch.extend(record for record, _ in records.end())
    if batch:
        yield batch

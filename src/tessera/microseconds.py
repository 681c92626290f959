"""Times as whole microseconds since the Unix epoch, the way the SQLite stores keep them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND: Final = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def from_us(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)

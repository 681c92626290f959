"""Durations as people type them: ``900`` (seconds), ``30m``, ``24h``, ``7d``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

_DURATION: Final = re.compile(r"(\d{1,9})([smhd]?)")
_UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """A positive duration; ValueError saying what one looks like for anything else."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ValueError("a duration such as 900, 30m, 24h or 7d (not zero)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])

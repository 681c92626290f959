"""Which audit events a read returns: by action, principal, outcome and time. The same
filter for every backend, the ``tessera audit`` command and ``GET /api/v1/audit``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from tessera.security.base import SecurityStoreError

# An action filter ending in this matches every action it begins (``overlays.`` matches
# ``overlays.create`` and ``overlays.delete``); any other is matched exactly.
PREFIX_MARK: Final = "."
# How an event ended: done, refused by policy, or a credential that did not check out.
OUTCOMES: Final = ("ok", "denied", "failed")
MAX_FILTER_TEXT: Final = 200


@dataclass(frozen=True)
class AuditFilter:
    """Every condition given must hold; ``None`` leaves that one out."""

    action: str | None = None
    principal: str | None = None
    outcome: str | None = None
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before

    def __post_init__(self) -> None:
        for moment in (self.since, self.until):
            if moment is not None:
                require_aware(moment)

    @property
    def action_prefix(self) -> str | None:
        """The prefix the action filter stands for, if it is one."""
        if self.action is not None and self.action.endswith(PREFIX_MARK):
            return self.action
        return None


def filter_text(name: str, value: str) -> str:
    """An action, principal or outcome to filter by, as given; ValueError says why not."""
    if not 0 < len(value) <= MAX_FILTER_TEXT or not value.isprintable():
        raise ValueError(f"must be 1 to {MAX_FILTER_TEXT} printable characters")
    if name == "outcome" and value not in OUTCOMES:
        raise ValueError(f"must be one of {', '.join(OUTCOMES)}")
    return value


def prefix_range(prefix: str) -> tuple[str, str]:
    """The half-open range [low, high) of exactly the strings that begin with ``prefix``
    in code point order: a range an ordinary index serves, where a LIKE pattern would need
    escaping and, on PostgreSQL, a special operator class."""
    if not prefix:
        raise ValueError("an empty prefix has no upper bound")
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def require_aware(moment: datetime) -> datetime:
    # A naive time has no defined instant; refusing it beats guessing a zone.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SecurityStoreError(f"a time must carry its timezone, got {moment.isoformat()}")
    return moment

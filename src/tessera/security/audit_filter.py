"""Which audit events a read returns: by action, principal, outcome and time. The same
filter for every backend, the ``tessera audit`` command and ``GET /api/v1/audit``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgspec

from tessera.security.base import AuditEvent, SecurityStoreError

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


@dataclass(frozen=True)
class AuditSql:
    """One backend's SQL for reading the trail through a filter: its clauses (constants,
    every value a parameter), and how a time and a text value go in as parameters."""

    select: str
    after: str
    since: str
    until: str
    action: str
    action_range: str
    principal: str
    outcome: str
    order: str
    time: Callable[[datetime], Any]
    text: Callable[[str], str]


def audit_select(
    sql: AuditSql, where: AuditFilter, after_seq: int, limit: int
) -> tuple[str, list[Any]]:
    """The query for one page of the filtered trail, and its parameters."""
    conditions = [sql.after]
    parameters: list[Any] = [after_seq]
    if where.since is not None:
        conditions.append(sql.since)
        parameters.append(sql.time(where.since))
    if where.until is not None:
        conditions.append(sql.until)
        parameters.append(sql.time(where.until))
    if (prefix := where.action_prefix) is not None:
        conditions.append(sql.action_range)
        parameters.extend(prefix_range(sql.text(prefix)))
    elif where.action is not None:
        conditions.append(sql.action)
        parameters.append(sql.text(where.action))
    if where.principal is not None:
        conditions.append(sql.principal)
        parameters.append(sql.text(where.principal))
    if where.outcome is not None:
        conditions.append(sql.outcome)
        parameters.append(sql.text(where.outcome))
    parameters.append(max(limit, 0))
    return sql.select + "WHERE " + " AND ".join(conditions) + sql.order, parameters


def audit_event(row: Sequence[Any], at: datetime) -> AuditEvent:
    """An event from a row ``seq, at, principal, action, outcome, target, address,
    detail`` (the detail as JSON), its time already read as ``at``."""
    seq, _, principal, action, outcome, target, address, detail = row
    return AuditEvent(
        seq=seq,
        at=at,
        principal=principal,
        action=action,
        outcome=outcome,
        target=target,
        address=address,
        detail=msgspec.json.decode(detail, type=dict[str, Any]),
    )

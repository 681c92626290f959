"""``GET /api/v1/audit``'s query: the audit filter, the page after a sequence number, and
its size, parsed strictly (an unknown or repeated parameter, or a bad value, is refused
by name)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from starlette.datastructures import QueryParams

from tessera.security.audit_filter import AuditFilter, filter_text
from tessera.transports.web.params import ParameterError

MAX_AUDIT_LIMIT: Final = 10_000
DEFAULT_AUDIT_LIMIT: Final = 1000
TEXT_FILTERS: Final = ("action", "principal", "outcome")
AUDIT_PARAMETERS: Final = (*TEXT_FILTERS, "since", "until", "after", "limit")


@dataclass(frozen=True)
class AuditQuery:
    where: AuditFilter
    after: int
    limit: int


def audit_query(params: QueryParams) -> AuditQuery:
    for name in params:
        if name not in AUDIT_PARAMETERS:
            takes = ", ".join(AUDIT_PARAMETERS)
            raise ParameterError(name, f"is not a parameter of the audit trail (it takes {takes})")
        if len(params.getlist(name)) > 1:
            raise ParameterError(name, "is given more than once")
    texts: dict[str, str | None] = {name: _text(params, name) for name in TEXT_FILTERS}
    since, until = _moment(params, "since"), _moment(params, "until")
    if since is not None and until is not None and until <= since:
        raise ParameterError("until", "must be later than since")
    where = AuditFilter(
        action=texts["action"],
        principal=texts["principal"],
        outcome=texts["outcome"],
        since=since,
        until=until,
    )
    return AuditQuery(where, _after(params), _limit(params))


def _text(params: QueryParams, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        return filter_text(name, value)
    except ValueError as exc:
        raise ParameterError(name, str(exc)) from None


def _moment(params: QueryParams, name: str) -> datetime | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(name, "must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ParameterError(name, "must give a time zone (e.g. Z)")
    return moment


def _after(params: QueryParams) -> int:
    text = params.get("after", "0")
    # At most 18 digits: within SQLite's and PostgreSQL's 64-bit integers.
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ParameterError("after", "must be a sequence number")
    return int(text)


def _limit(params: QueryParams) -> int:
    text = params.get("limit", str(DEFAULT_AUDIT_LIMIT))
    if not (text.isascii() and text.isdigit() and len(text) <= 5) or not (
        1 <= int(text) <= MAX_AUDIT_LIMIT
    ):
        raise ParameterError("limit", f"must be a whole number from 1 to {MAX_AUDIT_LIMIT}")
    return int(text)

"""``tessera audit``: the audit trail, oldest first, read in pages, filtered by action,
principal, outcome and time."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Final

from tessera.security.audit_filter import OUTCOMES, AuditFilter, filter_text
from tessera.security.base import AuditEvent, SecurityStore
from tessera.security.commandkit import (
    CommandError,
    add_data_option,
    existing,
    instant,
    iso,
    json_line,
    positive_int,
    printable,
    with_store,
)

AUDIT_PAGE: Final = 1000


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_option(parser)
    parser.add_argument(
        "--action",
        type=_text("action"),
        default=None,
        help="only this action, e.g. export; ending in a dot, a family: overlays.",
    )
    parser.add_argument(
        "--principal", type=_text("principal"), default=None, help="only what it did"
    )
    parser.add_argument(
        "--outcome", choices=OUTCOMES, default=None, help="only events that ended so"
    )
    parser.add_argument(
        "--since",
        default=None,
        help="from this time on: ISO 8601, e.g. 2026-05-04T09:00:00Z (default UTC)",
    )
    parser.add_argument("--until", default=None, help="before this time (ISO 8601)")
    parser.add_argument("--limit", type=positive_int, default=None, help="at most N events")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def _text(name: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        try:
            return filter_text(name, value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _filter(args: argparse.Namespace) -> AuditFilter:
    since = None if args.since is None else instant(args.since)
    until = None if args.until is None else instant(args.until)
    if since is not None and until is not None and until <= since:
        raise CommandError("--until must be later than --since")
    return AuditFilter(
        action=args.action, principal=args.principal, outcome=args.outcome, since=since, until=until
    )


def run_audit(args: argparse.Namespace) -> int:
    where = _filter(args)

    async def show(store: SecurityStore) -> None:
        after_seq = 0
        remaining = args.limit
        # Page by sequence number so a long trail never sits in memory at once.
        while remaining is None or remaining > 0:
            page = AUDIT_PAGE if remaining is None else min(AUDIT_PAGE, remaining)
            events = await store.audit(where, after_seq=after_seq, limit=page)
            for event in events:
                print(json_line(event) if args.json else _audit_line(event))
            if len(events) < page:
                return
            after_seq = events[-1].seq
            if remaining is not None:
                remaining -= len(events)

    with_store(existing(args.data), show, args.config)
    return 0


def _audit_line(event: AuditEvent) -> str:
    fields = [
        iso(event.at, "milliseconds"),
        event.principal or "-",
        event.action,
        event.outcome,
        event.target or "-",
        event.address or "-",
    ]
    line = "  ".join(printable(field) for field in fields)
    return f"{line}  {printable(json_line(event.detail))}" if event.detail else line

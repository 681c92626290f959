"""``tessera audit``: the audit trail, oldest first, read in pages."""

from __future__ import annotations

import argparse
from typing import Final

from tessera.security.base import AuditEvent, SecurityStore
from tessera.security.commandkit import (
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
        "--since", default=None, help="ISO 8601 time, e.g. 2026-05-04T09:00:00Z (default UTC)"
    )
    parser.add_argument("--limit", type=positive_int, default=None, help="at most N events")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run_audit(args: argparse.Namespace) -> int:
    since = None if args.since is None else instant(args.since)

    async def show(store: SecurityStore) -> None:
        after_seq = 0
        remaining = args.limit
        # Page by sequence number so a long trail never sits in memory at once.
        while remaining is None or remaining > 0:
            page = AUDIT_PAGE if remaining is None else min(AUDIT_PAGE, remaining)
            events = await store.audit(since=since, after_seq=after_seq, limit=page)
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

"""``tessera sources``: the source registry, which principal may report as which source
ids (DESIGN §10).

``add`` grants a principal source ids (exact, or prefixes ending in ``*``), ``remove``
takes grants back, ``list`` shows them with the settings file's (marked ``settings``),
and the TAK uids bound to client certificates. Every change is on the audit trail. A
running server sees a change within seconds.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime

from tessera.security.base import SOURCE_PATTERN, SecurityStore, SourceGrant
from tessera.security.commandkit import (
    CommandError,
    action_parser,
    admin_event,
    existing,
    iso,
    json_line,
    optional_iso,
    print_table,
    run_action,
    with_store,
)
from tessera.security.sources import EVERY_SOURCE
from tessera.settings import load_settings


def add_sources_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    add = action_parser(actions, "add", _add, "let a principal report as these source ids")
    add.add_argument("principal")
    add.add_argument(
        "ids",
        nargs="+",
        metavar="ID",
        help="a source id (uav-17), or a prefix ending in * (uav-*; quote it for the shell)",
    )
    remove = action_parser(actions, "remove", _remove, "take grants back")
    remove.add_argument("principal")
    remove.add_argument("ids", nargs="+", metavar="ID", help="as they were granted")
    listing = action_parser(actions, "list", _list, "list the grants")
    listing.add_argument("principal", nargs="?", default=None, help="only this principal's")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")


def run_sources(args: argparse.Namespace) -> int:
    return run_action(args)


def _patterns(ids: list[str]) -> list[str]:
    for pattern in ids:
        if not re.fullmatch(SOURCE_PATTERN, pattern):
            raise CommandError(
                f"{pattern!r} is not a source id: letters, digits and . _ : @ -, starting "
                "with a letter or digit, optionally ending in * for a prefix"
            )
    return list(dict.fromkeys(ids))


def _add(args: argparse.Namespace) -> int:
    patterns = _patterns(args.ids)
    now = datetime.now(UTC)

    async def add(store: SecurityStore) -> list[str]:
        added = [
            pattern
            for pattern in patterns
            if await store.add_source_grant(
                SourceGrant(principal=args.principal, pattern=pattern, granted_at=now)
            )
        ]
        if added:
            detail = {"patterns": added}
            await store.append_audit([admin_event("source.grant", args.principal, now, detail)])
        return added

    added = with_store(existing(args.data), add, args.config)
    for pattern in patterns:
        state = "granted" if pattern in added else "already held"
        print(f"{args.principal} may report as {_shown(pattern)}: {state}")
    if EVERY_SOURCE in added:
        print(
            f"warning: {args.principal} may now report as any source, another partner's too",
        )
    return 0


def _remove(args: argparse.Namespace) -> int:
    patterns = _patterns(args.ids)
    now = datetime.now(UTC)

    async def remove(store: SecurityStore) -> list[str]:
        removed = [
            pattern
            for pattern in patterns
            if await store.remove_source_grant(args.principal, pattern)
        ]
        if removed:
            detail = {"patterns": removed}
            await store.append_audit([admin_event("source.revoke", args.principal, now, detail)])
        return removed

    removed = with_store(existing(args.data), remove, args.config)
    missing = [pattern for pattern in patterns if pattern not in removed]
    for pattern in removed:
        print(f"{args.principal} may no longer report as {_shown(pattern)}")
    if missing:
        shown = ", ".join(missing)
        raise CommandError(f"{args.principal} held no grant for {shown} (in the store)")
    return 0


def _list(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, data_dir=args.data)
    configured = [
        grant
        for grant in settings.source_grants()
        if args.principal is None or grant.principal == args.principal
    ]

    async def grants(store: SecurityStore) -> list[SourceGrant]:
        return await store.source_grants(args.principal)

    stored = with_store(existing(args.data), grants, args.config)
    rows = [(grant, "settings") for grant in configured] + [(grant, "store") for grant in stored]
    rows.sort(key=lambda row: (row[0].principal, row[0].pattern))
    if args.json:
        for grant, origin in rows:
            print(
                json_line(
                    {
                        "principal": grant.principal,
                        "pattern": grant.pattern,
                        "from": origin,
                        "granted_at": optional_iso(grant.granted_at),
                    }
                )
            )
        return 0
    table = [
        (grant.principal, grant.pattern, origin, iso(grant.granted_at) if grant.granted_at else "-")
        for grant, origin in rows
    ]
    print_table(("PRINCIPAL", "SOURCE IDS", "FROM", "GRANTED"), table)
    return 0


def _shown(pattern: str) -> str:
    if pattern == EVERY_SOURCE:
        return "every source"
    if pattern.endswith("*"):
        return f"every source id starting {pattern[:-1]!r}"
    return repr(pattern)

"""Command-line administration of the security store: ``tessera users`` and ``tessera audit``.

Each command opens the data folder's security store, does one thing and closes it; the
server may hold the same file open meanwhile. Every change is written to the audit trail
as made by ``cli:<login name>`` from ``local``. Bad input raises ValueError, which
``tessera.cli`` prints as ``tessera: <message>`` with exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import msgspec

from tessera.core.labels import ClassificationScheme
from tessera.core.model import PRINCIPAL_PATTERN, Label, Principal, PrincipalKind, Role
from tessera.security import tokens
from tessera.security.base import (
    AuditEvent,
    SecurityStore,
    TokenRecord,
    UnknownPrincipalError,
    UnknownTokenError,
)
from tessera.security.sqlite import SqliteSecurityStore, security_store_path
from tessera.settings import load_settings

DEFAULT_TOKEN_DAYS: Final = 30
AUDIT_PAGE: Final = 1000
CLI_ADDRESS: Final = "local"
T = TypeVar("T")


class CommandError(ValueError):
    """Input the command refuses; the message says why."""


# -- argument parsing ------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number greater than zero")
    return value


def _add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="the server's data folder")


def _action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[[argparse.Namespace], int],
    summary: str,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=summary)
    _add_data_option(parser)
    parser.set_defaults(users_handler=handler)
    return parser


def add_users_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    add = _action(actions, "add", _add, "add a user or system principal")
    add.add_argument("name", help="lowercase letters, digits and . _ @ -")
    add.add_argument("--config", type=Path, default=None, help="settings file (TOML)")
    add.add_argument("--kind", choices=[kind.value for kind in PrincipalKind], default="user")
    add.add_argument("--communities", default="", help="comma-separated, e.g. NATO,UKR")
    add.add_argument("--clearance", default=None, help="a level (default: the lowest)")
    add.add_argument("--roles", default="viewer", help="comma-separated: " + ", ".join(Role))
    add.add_argument(
        "--default-label", metavar="LEVEL[:COMM,COMM]", help="for its reports that carry none"
    )

    listing = _action(actions, "list", _list, "list the principals")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")

    disable = _action(actions, "disable", _disable, "disable a principal (or --enable it)")
    disable.add_argument("name")
    disable.add_argument("--enable", action="store_true", help="enable it again")

    token = _action(actions, "token", _token, "issue a token (printed once, never stored)")
    token.add_argument("name")
    expiry = token.add_mutually_exclusive_group()
    expiry.add_argument("--days", type=_positive_int, help=f"default {DEFAULT_TOKEN_DAYS}")
    expiry.add_argument("--no-expiry", action="store_true", help="valid until revoked")

    revoke = _action(actions, "revoke", _revoke, "revoke a token by its id")
    revoke.add_argument("token_id", metavar="TOKEN_ID")

    listing_tokens = _action(actions, "tokens", _tokens, "list tokens (never their secrets)")
    listing_tokens.add_argument("name", nargs="?", default=None)


def run_users(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = args.users_handler
    return handler(args)


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    _add_data_option(parser)
    parser.add_argument(
        "--since", default=None, help="ISO 8601 time, e.g. 2026-05-04T09:00:00Z (default UTC)"
    )
    parser.add_argument("--limit", type=_positive_int, default=None, help="at most N events")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run_audit(args: argparse.Namespace) -> int:
    since = None if args.since is None else _instant(args.since)

    async def show(store: SecurityStore) -> None:
        after_seq = 0
        remaining = args.limit
        # Page by sequence number so a long trail never sits in memory at once.
        while remaining is None or remaining > 0:
            page = AUDIT_PAGE if remaining is None else min(AUDIT_PAGE, remaining)
            events = await store.audit(since=since, after_seq=after_seq, limit=page)
            for event in events:
                print(_json_line(event) if args.json else _audit_line(event))
            if len(events) < page:
                return
            after_seq = events[-1].seq
            if remaining is not None:
                remaining -= len(events)

    _with_store(_existing(args.data), show)
    return 0


# -- the store and the trail -----------------------------------------------------------


def _existing(data: Path) -> Path:
    # Reading or changing a store in a folder that does not exist is a typo, not a wish
    # to start an empty one.
    if not data.is_dir():
        raise CommandError(f"no data folder at {data}")
    return data


def _with_store(data: Path, work: Callable[[SecurityStore], Awaitable[T]]) -> T:
    path = security_store_path(data)

    async def run() -> T:
        store = SqliteSecurityStore(path)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (OSError, sqlite3.Error) as exc:
        # Unreadable, locked too long, not a database: say so without a traceback.
        raise CommandError(f"cannot use {path}: {exc}") from exc


def _actor() -> str:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        # No login name in the environment or the password database (some containers).
        login = "unknown"
    return f"cli:{login}"


def _admin_event(action: str, target: str, at: datetime, detail: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        at=at, principal=_actor(), action=action, target=target, address=CLI_ADDRESS, detail=detail
    )


# -- users add -------------------------------------------------------------------------


def _add(args: argparse.Namespace) -> int:
    scheme = load_settings(args.config, data_dir=args.data).scheme
    now = datetime.now(UTC)
    principal = _principal_from(args, scheme, now)
    # What it was given; the name is the event's target.
    detail = {
        key: value
        for key, value in msgspec.to_builtins(principal).items()
        if key in ("kind", "communities", "clearance", "roles", "default_label")
    }

    async def add(store: SecurityStore) -> None:
        await store.add_principal(principal)
        await store.append_audit([_admin_event("principal.add", principal.name, now, detail)])

    _with_store(args.data, add)
    print(
        f"added {principal.kind} {principal.name}: clearance {principal.clearance}, "
        f"roles {', '.join(principal.roles)}"
    )
    return 0


def _principal_from(
    args: argparse.Namespace, scheme: ClassificationScheme, now: datetime
) -> Principal:
    if not re.fullmatch(PRINCIPAL_PATTERN, args.name):
        raise CommandError(
            f"a principal name is 1-64 lowercase letters, digits and . _ @ -, starting with a "
            f"letter or digit; got {args.name!r}"
        )
    clearance = args.clearance or scheme.levels[0]
    _require_level(clearance, scheme, "clearance")
    communities = _split(args.communities)
    label = None if args.default_label is None else _label(args.default_label, scheme)
    if label is not None:
        _check_default_label(label, clearance, communities, scheme)
    raw = {
        "name": args.name,
        "kind": args.kind,
        "communities": communities,
        "clearance": clearance,
        "roles": _roles(args.roles),
        "default_label": None if label is None else msgspec.to_builtins(label),
        "created_at": now,
    }
    try:
        return msgspec.convert(raw, Principal)
    except msgspec.ValidationError as exc:
        raise CommandError(f"invalid principal: {exc}") from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _require_level(level: str, scheme: ClassificationScheme, what: str) -> None:
    if level not in scheme:
        raise CommandError(f"{what} {level!r} is not one of the levels: {', '.join(scheme.levels)}")


def _roles(text: str) -> list[str]:
    roles = _split(text)
    if not roles:
        raise CommandError("give at least one role: " + ", ".join(Role))
    known = {role.value for role in Role}
    for role in roles:
        if role not in known:
            raise CommandError(f"unknown role {role!r}; roles are {', '.join(Role)}")
    return roles


def _label(text: str, scheme: ClassificationScheme) -> Label:
    level, _, communities = text.partition(":")
    _require_level(level, scheme, "default label level")
    return Label(level, tuple(_split(communities)))


def _check_default_label(
    label: Label, clearance: str, communities: Sequence[str], scheme: ClassificationScheme
) -> None:
    # A principal may only submit what it could read (tessera.security.policy), so a
    # default label it could not read would get every unlabelled report of it refused.
    if scheme.rank(label.classification) > scheme.rank(clearance):
        raise CommandError(
            f"default label {label.classification} is above the clearance {clearance}"
        )
    if label.releasable_to and set(label.releasable_to).isdisjoint(communities):
        raise CommandError(
            f"default label releasable to {','.join(label.releasable_to)} shares no "
            "community with the principal"
        )


# -- users list, disable ---------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    async def read(store: SecurityStore) -> tuple[list[Principal], list[TokenRecord]]:
        return await store.principals(), await store.tokens()

    principals, records = _with_store(_existing(args.data), read)
    now = datetime.now(UTC)
    usable: dict[str, int] = {}
    for record in records:
        if record.usable(now):
            usable[record.principal] = usable.get(record.principal, 0) + 1
    if args.json:
        for principal in principals:
            row = msgspec.to_builtins(principal)
            row["usable_tokens"] = usable.get(principal.name, 0)
            print(msgspec.json.encode(row).decode())
        return 0
    rows = [
        [
            principal.name,
            principal.kind,
            principal.clearance,
            ",".join(principal.communities) or "-",
            ",".join(principal.roles) or "-",
            "yes" if principal.disabled else "no",
            str(usable.get(principal.name, 0)),
        ]
        for principal in principals
    ]
    headers = ["NAME", "KIND", "CLEARANCE", "COMMUNITIES", "ROLES", "DISABLED", "TOKENS"]
    _print_table(headers, rows)
    return 0


def _disable(args: argparse.Namespace) -> int:
    disabled = not args.enable
    now = datetime.now(UTC)
    action = "principal.disable" if disabled else "principal.enable"

    async def change(store: SecurityStore) -> None:
        await store.set_disabled(args.name, disabled)
        await store.append_audit([_admin_event(action, args.name, now, {})])

    _with_store(_existing(args.data), change)
    print(f"{'disabled' if disabled else 'enabled'} {args.name}")
    return 0


# -- users token, revoke, tokens -------------------------------------------------------


def _token(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    days = DEFAULT_TOKEN_DAYS if args.days is None else args.days
    expires_at = None if args.no_expiry else now + timedelta(days=days)
    issued = tokens.issue(args.name, now=now, expires_at=expires_at)
    record = issued.record
    detail = {"principal": args.name, "expires_at": _optional_iso(expires_at)}

    async def store_token(store: SecurityStore) -> None:
        principal = await store.principal(args.name)
        if principal is None:
            raise UnknownPrincipalError(f"no principal named {args.name!r}")
        if principal.disabled:
            raise CommandError(f"{args.name} is disabled: enable it before issuing a token")
        await store.add_token(record)
        await store.append_audit([_admin_event("token.issue", record.id, now, detail)])

    _with_store(_existing(args.data), store_token)
    # Stored (as a hash) before it is shown, so a printed token always works. Alone on
    # stdout so a script can capture it; everything else goes to stderr.
    print(issued.secret, flush=True)
    print(
        f"token {record.id} for {args.name}, expires {_optional_iso(expires_at) or 'never'}\n"
        "shown once: it is not stored",
        file=sys.stderr,
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)

    async def revoke(store: SecurityStore) -> tuple[TokenRecord, bool]:
        before = await store.token(args.token_id)
        if before is None:
            raise UnknownTokenError(f"no token with id {args.token_id!r}")
        record = await store.revoke_token(args.token_id, now)
        already = before.revoked_at is not None
        detail = {"principal": record.principal, "already_revoked": already}
        await store.append_audit([_admin_event("token.revoke", record.id, now, detail)])
        return record, already

    record, already = _with_store(_existing(args.data), revoke)
    when = _optional_iso(record.revoked_at)
    if already:
        print(f"token {record.id} of {record.principal} was already revoked at {when}")
    else:
        print(f"revoked token {record.id} of {record.principal}")
    return 0


def _tokens(args: argparse.Namespace) -> int:
    async def read(store: SecurityStore) -> list[TokenRecord]:
        if args.name is not None and await store.principal(args.name) is None:
            raise UnknownPrincipalError(f"no principal named {args.name!r}")
        return await store.tokens(args.name)

    records = _with_store(_existing(args.data), read)
    # Never the secret hash: it is no use to a reader, and it stays where it is.
    rows = [
        [
            record.id,
            record.principal,
            _iso(record.created_at),
            _optional_iso(record.expires_at) or "never",
            _optional_iso(record.revoked_at) or "-",
        ]
        for record in records
    ]
    _print_table(["ID", "PRINCIPAL", "CREATED", "EXPIRES", "REVOKED"], rows)
    return 0


# -- output ----------------------------------------------------------------------------


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"{text!r} is not an ISO 8601 time (for example 2026-05-04T09:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _iso(moment: datetime, timespec: str = "seconds") -> str:
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def _optional_iso(moment: datetime | None) -> str | None:
    return None if moment is None else _iso(moment)


def _printable(text: str) -> str:
    # The trail records what clients sent; a terminal must not act on control codes in it.
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def _json_line(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _audit_line(event: AuditEvent) -> str:
    fields = [
        _iso(event.at, "milliseconds"),
        event.principal or "-",
        event.action,
        event.outcome,
        event.target or "-",
        event.address or "-",
    ]
    line = "  ".join(_printable(field) for field in fields)
    return f"{line}  {_printable(_json_line(event.detail))}" if event.detail else line


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip())

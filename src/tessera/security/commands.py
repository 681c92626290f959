"""Command-line administration of principals and tokens: ``tessera users``.

Each command opens the data folder's security store, does one thing and closes it; the
server may hold the same file open meanwhile. Every change is written to the audit trail
as made by ``cli:<login name>`` from ``local``. Bad input raises ValueError, which
``tessera.cli`` prints as ``tessera: <message>`` with exit code 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

from tessera.core.labels import ClassificationScheme
from tessera.core.model import PRINCIPAL_PATTERN, Label, Principal, PrincipalKind, Role
from tessera.security import tokens
from tessera.security.base import (
    SecurityStore,
    TokenRecord,
    UnknownPrincipalError,
    UnknownTokenError,
)
from tessera.security.commandkit import (
    CommandError,
    action_parser,
    admin_event,
    existing,
    iso,
    optional_iso,
    positive_int,
    print_table,
    run_action,
    with_store,
)
from tessera.security.policy import submission_refusal
from tessera.settings import load_settings

DEFAULT_TOKEN_DAYS: Final = 30


# -- argument parsing ------------------------------------------------------------------


def add_users_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    add = action_parser(actions, "add", _add, "add a user or system principal")
    add.add_argument("name", help="lowercase letters, digits and . _ @ -")
    add.add_argument("--kind", choices=[kind.value for kind in PrincipalKind], default="user")
    add.add_argument("--communities", default="", help="comma-separated, e.g. NATO,UKR")
    add.add_argument("--clearance", default=None, help="a level (default: the lowest)")
    add.add_argument(
        "--unrestricted",
        action="store_true",
        help="reads every releasability, within its clearance (the deployment's own staff)",
    )
    add.add_argument("--roles", default="viewer", help="comma-separated: " + ", ".join(Role))
    add.add_argument(
        "--default-label", metavar="LEVEL[:COMM,COMM]", help="for its reports that carry none"
    )

    listing = action_parser(actions, "list", _list, "list the principals")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")

    disable = action_parser(actions, "disable", _disable, "disable a principal (or --enable it)")
    disable.add_argument("name")
    disable.add_argument("--enable", action="store_true", help="enable it again")

    token = action_parser(actions, "token", _token, "issue a token (printed once, never stored)")
    token.add_argument("name")
    expiry = token.add_mutually_exclusive_group()
    expiry.add_argument("--days", type=positive_int, help=f"default {DEFAULT_TOKEN_DAYS}")
    expiry.add_argument("--no-expiry", action="store_true", help="valid until revoked")

    revoke = action_parser(actions, "revoke", _revoke, "revoke a token by its id")
    revoke.add_argument("token_id", metavar="TOKEN_ID")

    listing_tokens = action_parser(actions, "tokens", _tokens, "list tokens (never their secrets)")
    listing_tokens.add_argument("name", nargs="?", default=None)


def run_users(args: argparse.Namespace) -> int:
    return run_action(args)


# -- users add -------------------------------------------------------------------------


def _add(args: argparse.Namespace) -> int:
    scheme = load_settings(args.config, data_dir=args.data).scheme
    now = datetime.now(UTC)
    principal = _principal_from(args, scheme, now)
    # What it was given; the name is the event's target.
    detail = {
        key: value
        for key, value in msgspec.to_builtins(principal).items()
        if key in ("kind", "communities", "clearance", "unrestricted", "roles", "default_label")
    }

    async def add(store: SecurityStore) -> None:
        await store.add_principal(principal)
        await store.append_audit([admin_event("principal.add", principal.name, now, detail)])

    with_store(args.data, add, args.config)
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
    raw = {
        "name": args.name,
        "kind": args.kind,
        "communities": communities,
        "clearance": clearance,
        "unrestricted": args.unrestricted,
        "roles": _roles(args.roles),
        "default_label": None if label is None else msgspec.to_builtins(label),
        "created_at": now,
    }
    try:
        principal = msgspec.convert(raw, Principal)
    except msgspec.ValidationError as exc:
        raise CommandError(f"invalid principal: {exc}") from None
    # A principal may only submit what it could read, so a default label it could not
    # read would get every unlabelled report of it refused.
    refusal = None if label is None else submission_refusal(principal, label, scheme)
    if refusal is not None:
        raise CommandError(f"the default label is {refusal}")
    return principal


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


# -- users list, disable ---------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    async def read(store: SecurityStore) -> tuple[list[Principal], list[TokenRecord]]:
        return await store.principals(), await store.tokens()

    principals, records = with_store(existing(args.data), read, args.config)
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
            "ALL" if principal.unrestricted else ",".join(principal.communities) or "-",
            ",".join(principal.roles) or "-",
            "yes" if principal.disabled else "no",
            str(usable.get(principal.name, 0)),
        ]
        for principal in principals
    ]
    headers = ["NAME", "KIND", "CLEARANCE", "COMMUNITIES", "ROLES", "DISABLED", "TOKENS"]
    print_table(headers, rows)
    return 0


def _disable(args: argparse.Namespace) -> int:
    disabled = not args.enable
    now = datetime.now(UTC)
    action = "principal.disable" if disabled else "principal.enable"

    async def change(store: SecurityStore) -> None:
        await store.set_disabled(args.name, disabled)
        await store.append_audit([admin_event(action, args.name, now, {})])

    with_store(existing(args.data), change, args.config)
    print(f"{'disabled' if disabled else 'enabled'} {args.name}")
    return 0


# -- users token, revoke, tokens -------------------------------------------------------


def _token(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    days = DEFAULT_TOKEN_DAYS if args.days is None else args.days
    expires_at = None if args.no_expiry else now + timedelta(days=days)
    issued = tokens.issue(args.name, now=now, expires_at=expires_at)
    record = issued.record
    detail = {"principal": args.name, "expires_at": optional_iso(expires_at)}

    async def store_token(store: SecurityStore) -> None:
        principal = await store.principal(args.name)
        if principal is None:
            raise UnknownPrincipalError(f"no principal named {args.name!r}")
        if principal.disabled:
            raise CommandError(f"{args.name} is disabled: enable it before issuing a token")
        await store.add_token(record)
        await store.append_audit([admin_event("token.issue", record.id, now, detail)])

    with_store(existing(args.data), store_token, args.config)
    # Stored (as a hash) before it is shown, so a printed token always works. Alone on
    # stdout so a script can capture it; everything else goes to stderr.
    print(issued.token, flush=True)
    print(
        f"token {record.id} for {args.name}, expires {optional_iso(expires_at) or 'never'}\n"
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
        await store.append_audit([admin_event("token.revoke", record.id, now, detail)])
        return record, already

    record, already = with_store(existing(args.data), revoke, args.config)
    when = optional_iso(record.revoked_at)
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

    records = with_store(existing(args.data), read, args.config)
    # Never the secret hash: it is no use to a reader, and it stays where it is.
    rows = [
        [
            record.id,
            record.principal,
            iso(record.created_at),
            optional_iso(record.expires_at) or "never",
            optional_iso(record.revoked_at) or "-",
        ]
        for record in records
    ]
    print_table(["ID", "PRINCIPAL", "CREATED", "EXPIRES", "REVOKED"], rows)
    return 0

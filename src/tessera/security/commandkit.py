"""What the administration commands share: the data folder's security store opened for one
action, the audit events they write, and their output. Bad input raises CommandError, a
ValueError, which ``tessera.cli`` prints as ``tessera: <message>`` with exit code 2."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import msgspec

from tessera.security.base import AuditEvent, SecurityStore
from tessera.security.sqlite import SqliteSecurityStore, security_store_path
from tessera.settings import load_settings

CLI_ADDRESS: Final = "local"
T = TypeVar("T")


class CommandError(ValueError):
    """Input the command refuses; the message says why."""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number greater than zero")
    return value


def action_parser(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[[argparse.Namespace], int],
    summary: str,
) -> argparse.ArgumentParser:
    """One action of a command with actions (``users add``, ``certs client``): its
    parser, with ``--data``, and the handler ``run_action`` calls."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=summary)
    add_data_option(parser)
    parser.set_defaults(action_handler=handler)
    return parser


def run_action(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = args.action_handler
    return handler(args)


def add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="the server's data folder")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the server's settings file (TOML); with postgis_dsn in it, the store is there",
    )


def existing(data: Path) -> Path:
    # Reading or changing a store in a folder that does not exist is a typo, not a wish
    # to start an empty one.
    if not data.is_dir():
        raise CommandError(f"no data folder at {data}")
    return data


def with_store(
    data: Path, work: Callable[[SecurityStore], Awaitable[T]], config: Path | None = None
) -> T:
    """Run ``work`` on the server's security store: the data folder's, or PostgreSQL's
    when the settings file names one."""
    path = security_store_path(data)
    dsn = None if config is None else load_settings(config, data_dir=data).postgis_dsn

    async def run() -> T:
        store: SecurityStore
        if dsn is None:
            store = SqliteSecurityStore(path)
        else:
            from tessera.security.postgis import PostgisSecurityStore

            store = PostgisSecurityStore(dsn)
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
    except Exception as exc:
        # The PostgreSQL driver's errors (unreachable, not migrated), said as plainly.
        if dsn is not None and type(exc).__module__.startswith(("psycopg", "tessera.")):
            raise CommandError(f"cannot use the PostGIS store: {exc}") from exc
        raise


def actor() -> str:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        # No login name in the environment or the password database (some containers).
        login = "unknown"
    return f"cli:{login}"


def admin_event(action: str, target: str, at: datetime, detail: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        at=at, principal=actor(), action=action, target=target, address=CLI_ADDRESS, detail=detail
    )


def instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"{text!r} is not an ISO 8601 time (for example 2026-05-04T09:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def iso(moment: datetime, timespec: str = "seconds") -> str:
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def optional_iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def printable(text: str) -> str:
    # The trail records what clients sent; a terminal must not act on control codes in it.
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def json_line(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip())

"""Connecting to the scale-out store: a libpq connection string (DSN), from the settings file
(``postgis_dsn``) or the command line, and the session settings every connection gets."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DSN_KEY: Final = "postgis_dsn"
APPLICATION_NAME: Final = "tessera"
# Times come back in UTC whatever the server's default zone is.
_SESSION_OPTIONS: Final = "-c TimeZone=UTC"


class PostgisSettingsError(ValueError):
    """A DSN or settings file that cannot be used; the message says why."""


def check_dsn(dsn: str) -> str:
    """The DSN, once libpq can parse it (a URI or ``key=value`` pairs)."""
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise PostgisSettingsError(f"invalid PostgreSQL DSN: {exc}") from None
    return dsn


def session_conninfo(dsn: str) -> str:
    """The DSN with Tessera's session settings added to any ``options`` it has."""
    params: dict[str, Any] = conninfo_to_dict(check_dsn(dsn))
    params["options"] = f"{params.get('options', '')} {_SESSION_OPTIONS}".strip()
    params.setdefault("application_name", APPLICATION_NAME)
    return make_conninfo("", **params)


def describe(dsn: str) -> str:
    """Which database a DSN names, for messages: never its password."""
    params = conninfo_to_dict(check_dsn(dsn))
    database = params.get("dbname") or params.get("user") or "(default database)"
    host = params.get("host") or "(local socket)"
    port = params.get("port") or "5432"
    return f"{database} on {host}:{port}"


def dsn_from_settings(path: Path) -> str:
    """The top-level ``postgis_dsn`` of a TOML settings file."""
    try:
        with path.open("rb") as file:
            settings = tomllib.load(file)
    except OSError as exc:
        raise PostgisSettingsError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PostgisSettingsError(f"{path} is not valid TOML: {exc}") from None
    dsn = settings.get(DSN_KEY)
    if not isinstance(dsn, str) or not dsn.strip():
        raise PostgisSettingsError(f"{path} has no {DSN_KEY} (a PostgreSQL connection string)")
    return check_dsn(dsn)


async def usable(
    conn: psycopg.AsyncConnection[Any] | None, conninfo: str
) -> psycopg.AsyncConnection[Any]:
    """``conn`` while it works; otherwise (none yet, closed, or lost) a new autocommit
    connection, the broken one closed."""
    if conn is not None and not conn.closed and not conn.broken:
        return conn
    if conn is not None:
        await conn.close()
    return await psycopg.AsyncConnection.connect(conninfo, autocommit=True)

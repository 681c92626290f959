"""``tessera migrate``: bring the PostGIS store's schema up to date (DESIGN §9)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

# The settings key, repeated here so that building the command line never imports psycopg.
_DSN_KEY: Final = "postgis_dsn"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--config", type=Path, default=None, help=f"settings file (TOML) with {_DSN_KEY}"
    )
    # A password on the command line is visible to every user of the machine: keep it in
    # the settings file, ~/.pgpass or PGPASSWORD instead.
    source.add_argument(
        "--dsn", default=None, help="PostgreSQL connection string, e.g. postgresql://HOST/DB"
    )
    parser.add_argument(
        "--grant",
        metavar="ROLE",
        default=None,
        help="then give ROLE (the one the servers connect as) what it needs on every table: "
        "read and write rows, add to the audit trail, nothing more",
    )


def run(args: argparse.Namespace) -> int:
    import psycopg

    from tessera.postgis.connection import check_dsn, describe, dsn_from_settings, session_conninfo
    from tessera.postgis.grants import GrantError, grant_runtime
    from tessera.postgis.migrate import migrate

    dsn = check_dsn(args.dsn) if args.dsn is not None else dsn_from_settings(args.config)
    try:
        applied = migrate(dsn, applied=lambda name: print(f"applied {name}", flush=True))
        if not applied:
            print("up to date")
        if args.grant is not None:
            with psycopg.connect(session_conninfo(dsn), autocommit=True) as conn:
                tables = grant_runtime(conn, args.grant)
            print(f"granted {args.grant} rows of {len(tables)} tables")
    except (psycopg.Error, GrantError) as exc:
        message = str(exc).strip() or type(exc).__name__
        print(f"tessera migrate: {describe(dsn)}: {message}", file=sys.stderr)
        return 1
    return 0

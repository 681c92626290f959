"""Privileges for the role Tessera's processes connect as, when the schema is owned by
another (``tessera migrate --grant ROLE``, run as the owner or a superuser).

The processes only read and write rows: they never change the schema, never rewrite the
migration ledger, and only add to the audit trail. Granted afresh after every migration,
so the tables a new release adds are covered too.
"""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

# Tables the processes read but never change, and those they only add to.
READ_ONLY: Final = frozenset({"schema_migrations", "spatial_ref_sys"})
APPEND_ONLY: Final = frozenset({"audit"})
_ROLE_EXISTS: Final = "SELECT 1 FROM pg_roles WHERE rolname = %s"
_TABLES: Final = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"


class GrantError(ValueError):
    """The privileges cannot be granted; the message says why."""


def grant_runtime(conn: psycopg.Connection[TupleRow], role: str) -> list[str]:
    """Give ``role`` what a gateway or fusion worker needs on every table of the schema,
    in one transaction; the tables it was granted."""
    if conn.execute(_ROLE_EXISTS, (role,)).fetchone() is None:
        raise GrantError(f"there is no role {role!r}: create it first (CREATE ROLE ... LOGIN)")
    who = sql.Identifier(role)
    tables = [str(name) for (name,) in conn.execute(_TABLES).fetchall()]
    with conn.transaction():
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who))
        for name in tables:
            table = sql.Identifier(name)
            conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(table, who))
            if name in READ_ONLY:
                privileges = sql.SQL("SELECT")
            elif name in APPEND_ONLY:
                # UPDATE only because the writers' table lock (SHARE ROW EXCLUSIVE) asks
                # for it; the table's own triggers refuse every update and delete.
                privileges = sql.SQL("SELECT, INSERT, UPDATE")
            else:
                privileges = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
            conn.execute(sql.SQL("GRANT {} ON {} TO {}").format(privileges, table, who))
        # Identity columns draw from sequences.
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who)
        )
    return tables

"""``tessera migrate --grant ROLE``: the schema owned by whoever migrates (a superuser),
the servers connecting as a role that reads and writes rows and nothing more."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tessera.cli import main
from tessera.security.base import AuditEvent
from tessera.security.postgis import PostgisSecurityStore
from tessera.store.postgis import PostgisTrackStore
from tests.postgis.databases import ADMIN_DSN, require_postgis, scratch_database
from tests.store.builders import track


@pytest.fixture
def owned_database() -> Iterator[tuple[str, str]]:
    """A new database (DSN as its superuser owner) and a login role of its own; the
    database is dropped before the role."""
    require_postgis()
    role = f"tessera_app_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        with scratch_database() as dsn:
            yield dsn, role
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def as_role(dsn: str, role: str) -> str:
    params = conninfo_to_dict(dsn)
    params["user"] = role
    return make_conninfo("", **params)


async def serve_as(dsn: str) -> None:
    security = PostgisSecurityStore(dsn)
    await security.open()
    try:
        assert await security.secret("ids")
        await security.append_audit([AuditEvent(at=datetime.now(UTC), principal=None, action="x")])
    finally:
        await security.close()
    store = PostgisTrackStore(dsn, ["COP"], writer=True)
    await store.open()
    store.apply("COP", 1, [track("t1")], [])
    store.mark_journal(1)
    await store.close(timeout=10)


def test_the_granted_role_runs_the_servers_and_cannot_change_schema_or_audit(
    owned_database: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, role = owned_database
    assert main(["migrate", "--dsn", dsn, "--grant", role]) == 0
    assert f"granted {role} rows of" in capsys.readouterr().out
    runtime = as_role(dsn, role)
    asyncio.run(serve_as(runtime))
    with psycopg.connect(runtime, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM tracks").fetchone() == (1,)
        for forbidden in (
            "CREATE TABLE intruder (a int)",
            "DELETE FROM schema_migrations",
            "DROP TABLE tracks",
            "DELETE FROM audit",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(forbidden)
        # UPDATE is granted for the writers' table lock; the trail's triggers refuse it.
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
            conn.execute("UPDATE audit SET action = 'y'")


def test_granting_again_after_an_upgrade_is_safe_and_an_unknown_role_is_refused(
    owned_database: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, role = owned_database
    assert main(["migrate", "--dsn", dsn, "--grant", role]) == 0
    assert main(["migrate", "--dsn", dsn, "--grant", role]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["migrate", "--dsn", dsn, "--grant", "nobody_here"]) == 1
    assert "there is no role 'nobody_here'" in capsys.readouterr().err

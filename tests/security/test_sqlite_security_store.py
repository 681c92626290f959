"""The embedded security store's own guarantees, beyond the contract every backend keeps:
its append-only audit table, its schema steps, and processes sharing one file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tessera.security import sqlite_audit
from tessera.security.audit_filter import AuditFilter
from tessera.security.base import (
    SecurityStore,
    SecurityStoreError,
    SourceGrant,
)
from tessera.security.certstore import CERTIFICATES_SCHEMA
from tessera.security.sqlite import (
    SCHEMA,
    SCHEMA_VERSION,
    security_store_path,
)
from tests.security.test_store_contract import (
    certificate,
    event,
    run,
    sqlite_store,
)

# -- SQLite only -----------------------------------------------------------------------


def test_sqlite_refuses_to_change_or_delete_audit_rows(tmp_path: Path) -> None:
    path = security_store_path(tmp_path)

    async def write(store: SecurityStore) -> None:
        await store.append_audit([event("kept")])

    run(sqlite_store, tmp_path, write)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit SET action = 'forged'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit")
    finally:
        conn.close()

    async def read(store: SecurityStore) -> None:
        assert [e.action for e in await store.audit()] == ["kept"]

    run(sqlite_store, tmp_path, read)


def test_sqlite_adds_the_certificates_table_to_a_version_1_file(tmp_path: Path) -> None:
    # A store as the Tessera before certificates left it: schema 1, a principal in it.
    path = security_store_path(tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(SCHEMA)
        conn.execute("PRAGMA user_version=1")
        conn.execute(
            "INSERT INTO principals (name, body) VALUES (?, ?)",
            ("alice", b'{"name":"alice"}'),
        )
    finally:
        conn.close()

    async def scenario(store: SecurityStore) -> None:
        assert [p.name for p in await store.principals()] == ["alice"]
        await store.add_certificate(certificate("phone"))
        assert await store.certificates() == [certificate("phone")]
        # And every later table: the source registry's.
        assert await store.add_source_grant(SourceGrant(principal="alice", pattern="uav-*"))

    run(sqlite_store, tmp_path, scenario)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_sqlite_adds_the_audit_indexes_to_a_version_2_file(tmp_path: Path) -> None:
    # A store as the Tessera before audit filters left it: schema 2, events in it.
    path = security_store_path(tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for script in (SCHEMA, CERTIFICATES_SCHEMA):
            conn.executescript(script)
        conn.execute("PRAGMA user_version=2")
        conn.execute(
            "INSERT INTO audit (at_us, principal, action, outcome, target, address, detail) "
            "VALUES (0, 'alice', 'export', 'denied', 'COP', '', '{}')"
        )
    finally:
        conn.close()

    async def scenario(store: SecurityStore) -> None:
        (kept,) = await store.audit(AuditFilter(action="export", outcome="denied"))
        assert (kept.principal, kept.target) == ("alice", "COP")

    run(sqlite_store, tmp_path, scenario)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        for where, index in (
            (AuditFilter(action="overlays.edit"), "audit_by_action"),
            (AuditFilter(action="overlays."), "audit_by_action"),
            (AuditFilter(principal="alice"), "audit_by_principal"),
            (AuditFilter(outcome="denied"), "audit_by_outcome"),
        ):
            query, parameters = sqlite_audit.select(where, 0, 100)
            plan = conn.execute("EXPLAIN QUERY PLAN " + query, parameters).fetchall()
            assert any(index in str(step) for step in plan), (where, plan)
    finally:
        conn.close()


def test_sqlite_refuses_a_file_from_a_newer_tessera(tmp_path: Path) -> None:
    path = security_store_path(tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    finally:
        conn.close()

    async def scenario(store: SecurityStore) -> None:
        raise AssertionError("opened a store it does not know")

    with pytest.raises(SecurityStoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        run(sqlite_store, tmp_path, scenario)


WORKER = """
import asyncio, sys
from datetime import UTC, datetime
from pathlib import Path
from tessera.core.model import Principal
from tessera.security.base import AuditEvent
from tessera.security.sqlite import SqliteSecurityStore

async def work(path: str, name: str) -> None:
    store = SqliteSecurityStore(Path(path))
    await store.open()
    try:
        await store.add_principal(Principal(name=name))
        for index in range(25):
            event = AuditEvent(at=datetime.now(UTC), principal=name, action=str(index))
            await store.append_audit([event])
    finally:
        await store.close()

asyncio.run(work(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.slow
def test_sqlite_processes_share_a_fresh_file(tmp_path: Path) -> None:
    path = security_store_path(tmp_path / "new")
    names = [f"worker-{index}" for index in range(4)]
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(path), name], stderr=subprocess.PIPE)
        for name in names
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors.decode()

    async def read(store: SecurityStore) -> None:
        assert [p.name for p in await store.principals()] == names
        events = await store.audit(limit=1000)
        assert len(events) == 100
        assert [e.seq for e in events] == sorted({e.seq for e in events})
        for name in names:
            mine = [e.action for e in events if e.principal == name]
            assert mine == [str(index) for index in range(25)]

    run(sqlite_store, tmp_path / "new", read)

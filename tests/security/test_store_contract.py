"""The security store contract: every implementation must pass every case here.

A new backend joins by adding its backend to IMPLEMENTATIONS: a context that gives each
test a factory and cleans up after it. A factory builds a store on a location; two stores
built on the same location share their data.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tessera.core.model import Label, Principal, PrincipalKind, Role
from tessera.security import sqlite_audit
from tessera.security.audit_filter import AuditFilter
from tessera.security.base import (
    AuditEvent,
    CertificateExistsError,
    CertificateRecord,
    PrincipalExistsError,
    SecurityStore,
    SecurityStoreError,
    SourceGrant,
    TokenRecord,
    UnknownCertificateError,
    UnknownPrincipalError,
    UnknownTokenError,
)
from tessera.security.certstore import CERTIFICATES_SCHEMA
from tessera.security.postgis import PostgisSecurityStore
from tessera.security.sqlite import (
    SCHEMA,
    SCHEMA_VERSION,
    SqliteSecurityStore,
    security_store_path,
)
from tests.postgis.databases import migrated_databases

StoreFactory = Callable[[Path], SecurityStore]
Scenario = Callable[[SecurityStore], Awaitable[None]]
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def sqlite_store(location: Path) -> SecurityStore:
    return SqliteSecurityStore(security_store_path(location))


@contextmanager
def sqlite_backend() -> Iterator[StoreFactory]:
    yield sqlite_store


@contextmanager
def postgis_backend() -> Iterator[StoreFactory]:
    # A location stands for a freshly created, migrated database, dropped after the test.
    with migrated_databases() as databases:
        yield lambda location: PostgisSecurityStore(databases.dsn(location))


Backend = Callable[[], AbstractContextManager[StoreFactory]]
IMPLEMENTATIONS: dict[str, Backend] = {"sqlite": sqlite_backend, "postgis": postgis_backend}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def factory(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    with IMPLEMENTATIONS[request.param]() as made:
        yield made


def run(factory: StoreFactory, location: Path, scenario: Scenario) -> None:
    async def opened() -> None:
        store = factory(location)
        await store.open()
        try:
            await scenario(store)
        finally:
            await store.close()

    asyncio.run(opened())


def principal(name: str, **fields: Any) -> Principal:
    return Principal(name=name, created_at=START, **fields)


def token(token_id: str, owner: str = "alice", **fields: Any) -> TokenRecord:
    values: dict[str, Any] = {"secret_hash": "ab" * 32, "created_at": START, **fields}
    return TokenRecord(id=token_id, principal=owner, **values)


def certificate(name: str, owner: str = "alice", **fields: Any) -> CertificateRecord:
    # A distinct fingerprint and serial per name, unless told otherwise.
    digest = hashlib.sha256(name.encode()).hexdigest()
    values: dict[str, Any] = {
        "serial": str(int(digest[:12], 16)),
        "fingerprint": digest,
        "issued_at": START,
        "expires_at": START + timedelta(days=365),
        **fields,
    }
    return CertificateRecord(name=name, principal=owner, **values)


def event(action: str, at: datetime = START, **fields: Any) -> AuditEvent:
    return AuditEvent(at=at, principal="alice", action=action, **fields)


# -- principals ------------------------------------------------------------------------


def test_principals_are_stored_whole_and_listed_by_name(
    factory: StoreFactory, tmp_path: Path
) -> None:
    carol = principal(
        "carol",
        kind=PrincipalKind.SYSTEM,
        communities=("NATO", "UKR"),
        clearance="SECRET",
        roles=(Role.VIEWER, Role.REPORTER),
        default_label=Label("RESTRICTED", ("UKR",)),
    )

    async def scenario(store: SecurityStore) -> None:
        for added in (carol, principal("alice"), principal("bob", disabled=True)):
            await store.add_principal(added)
        assert await store.principal("carol") == carol
        assert await store.principal("nobody") is None
        assert [p.name for p in await store.principals()] == ["alice", "bob", "carol"]
        assert (await store.principals())[1].disabled

    run(factory, tmp_path, scenario)


def test_times_come_back_aware_in_utc(factory: StoreFactory, tmp_path: Path) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = START.astimezone(plus_two)

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(Principal(name="alice", created_at=local))
        await store.add_token(token("0" * 16, created_at=local, expires_at=local))
        await store.append_audit([event("x", at=local)])
        stored = await store.principal("alice")
        record = await store.token("0" * 16)
        (logged,) = await store.audit()
        assert stored is not None and record is not None
        for moment in (stored.created_at, record.created_at, record.expires_at, logged.at):
            assert moment == START
            assert moment is not None and moment.utcoffset() == timedelta(0)

    run(factory, tmp_path, scenario)


def test_a_taken_name_is_refused(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        with pytest.raises(PrincipalExistsError, match="alice"):
            await store.add_principal(principal("alice", clearance="SECRET"))
        assert (await store.principal("alice")) == principal("alice")

    run(factory, tmp_path, scenario)
    assert issubclass(PrincipalExistsError, SecurityStoreError)
    assert issubclass(SecurityStoreError, ValueError)


def test_a_principal_that_could_not_be_read_back_is_refused(
    factory: StoreFactory, tmp_path: Path
) -> None:
    # Built directly, so nothing has checked it yet.
    unchecked = [
        Principal(name="Not A Name"),
        Principal(name="alice", created_at=datetime(2026, 1, 1)),
    ]

    async def scenario(store: SecurityStore) -> None:
        for bad in unchecked:
            with pytest.raises(SecurityStoreError):
                await store.add_principal(bad)
        assert await store.principals() == []

    run(factory, tmp_path, scenario)


def test_disable_and_enable_again(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice", clearance="SECRET"))
        disabled = await store.set_disabled("alice", True)
        assert disabled == principal("alice", clearance="SECRET", disabled=True)
        assert await store.principal("alice") == disabled
        enabled = await store.set_disabled("alice", False)
        assert not enabled.disabled
        assert await store.principal("alice") == principal("alice", clearance="SECRET")

    run(factory, tmp_path, scenario)


def test_disabling_an_unknown_principal_is_refused(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        with pytest.raises(UnknownPrincipalError, match="nobody"):
            await store.set_disabled("nobody", True)

    run(factory, tmp_path, scenario)


# -- tokens ----------------------------------------------------------------------------


def test_tokens_are_stored_and_listed_oldest_first(factory: StoreFactory, tmp_path: Path) -> None:
    later = token("b" * 16, created_at=START + timedelta(hours=1))
    earlier = token("c" * 16, expires_at=START + timedelta(days=30))
    bobs = token("a" * 16, "bob", created_at=START + timedelta(minutes=1))

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_principal(principal("bob"))
        for record in (later, earlier, bobs):
            await store.add_token(record)
        assert await store.token("c" * 16) == earlier
        assert await store.token("f" * 16) is None
        assert await store.tokens() == [earlier, bobs, later]
        assert await store.tokens("alice") == [earlier, later]
        assert await store.tokens("nobody") == []

    run(factory, tmp_path, scenario)


def test_a_token_needs_a_known_principal(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        with pytest.raises(UnknownPrincipalError, match="nobody"):
            await store.add_token(token("0" * 16, "nobody"))
        assert await store.tokens() == []

    run(factory, tmp_path, scenario)


def test_revoking_twice_keeps_the_first_time(factory: StoreFactory, tmp_path: Path) -> None:
    first = START + timedelta(minutes=5)

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_token(token("0" * 16))
        revoked = await store.revoke_token("0" * 16, first)
        assert revoked == token("0" * 16, revoked_at=first)
        again = await store.revoke_token("0" * 16, first + timedelta(hours=1))
        assert again.revoked_at == first
        assert await store.token("0" * 16) == revoked

    run(factory, tmp_path, scenario)


def test_revoking_an_unknown_token_is_refused(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        with pytest.raises(UnknownTokenError, match="0123"):
            await store.revoke_token("0123", START)

    run(factory, tmp_path, scenario)


def test_stored_tokens_are_usable_until_they_expire_or_are_revoked(
    factory: StoreFactory, tmp_path: Path
) -> None:
    expires = START + timedelta(days=1)

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_token(token("1" * 16, expires_at=expires))
        await store.add_token(token("2" * 16))
        expiring = await store.token("1" * 16)
        lasting = await store.token("2" * 16)
        assert expiring is not None and lasting is not None
        assert expiring.usable(expires - timedelta(microseconds=1))
        assert not expiring.usable(expires)
        assert lasting.usable(START + timedelta(days=10_000))
        revoked = await store.revoke_token("2" * 16, START + timedelta(seconds=1))
        assert not revoked.usable(START)

    run(factory, tmp_path, scenario)


def test_times_without_a_zone_are_refused(factory: StoreFactory, tmp_path: Path) -> None:
    naive = datetime(2026, 5, 4, 9, 0)

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        with pytest.raises(SecurityStoreError, match="timezone"):
            await store.add_token(token("0" * 16, created_at=naive))
        with pytest.raises(SecurityStoreError, match="timezone"):
            await store.append_audit([event("x", at=naive)])
        assert await store.tokens() == []
        assert await store.audit() == []

    run(factory, tmp_path, scenario)


# -- certificates ----------------------------------------------------------------------


def test_certificates_are_found_by_fingerprint_and_listed_oldest_first(
    factory: StoreFactory, tmp_path: Path
) -> None:
    later = certificate("tablet", issued_at=START + timedelta(hours=1))
    earlier = certificate("phone", revoked_at=START + timedelta(minutes=5))
    bobs = certificate("laptop", "bob", issued_at=START + timedelta(minutes=1))

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_principal(principal("bob"))
        for record in (later, earlier, bobs):
            await store.add_certificate(record)
        assert await store.certificate(earlier.fingerprint) == earlier
        # A fingerprint as other tools print it (upper case) finds it too.
        assert await store.certificate(bobs.fingerprint.upper()) == bobs
        assert await store.certificate("0" * 64) is None
        assert await store.certificates() == [earlier, bobs, later]

    run(factory, tmp_path, scenario)


def test_a_certificate_needs_a_known_principal_and_a_free_name(
    factory: StoreFactory, tmp_path: Path
) -> None:
    phone = certificate("phone")

    async def scenario(store: SecurityStore) -> None:
        with pytest.raises(UnknownPrincipalError, match="alice"):
            await store.add_certificate(phone)
        await store.add_principal(principal("alice"))
        await store.add_certificate(phone)
        renamed = certificate("phone", fingerprint="f" * 64)
        with pytest.raises(CertificateExistsError, match="phone"):
            await store.add_certificate(renamed)
        with pytest.raises(CertificateExistsError, match=phone.fingerprint):
            await store.add_certificate(certificate("other", fingerprint=phone.fingerprint))
        assert await store.certificates() == [phone]

    run(factory, tmp_path, scenario)
    assert issubclass(CertificateExistsError, SecurityStoreError)
    assert issubclass(UnknownCertificateError, SecurityStoreError)


def test_a_certificate_that_could_not_be_read_back_is_refused(
    factory: StoreFactory, tmp_path: Path
) -> None:
    unchecked = [
        certificate("../escape"),
        certificate("phone", fingerprint="AB" * 32),
        certificate("phone", serial="0x1f"),
    ]

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        for bad in unchecked:
            with pytest.raises(SecurityStoreError):
                await store.add_certificate(bad)
        with pytest.raises(SecurityStoreError, match="timezone"):
            await store.add_certificate(certificate("phone", issued_at=datetime(2026, 5, 4)))
        assert await store.certificates() == []

    run(factory, tmp_path, scenario)


def test_revoking_a_certificate_twice_keeps_the_first_time(
    factory: StoreFactory, tmp_path: Path
) -> None:
    first = START + timedelta(minutes=5)

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_certificate(certificate("phone"))
        revoked = await store.revoke_certificate("phone", first)
        assert revoked == certificate("phone", revoked_at=first)
        again = await store.revoke_certificate("phone", first + timedelta(hours=1))
        assert again.revoked_at == first
        assert await store.certificate(revoked.fingerprint) == revoked
        with pytest.raises(UnknownCertificateError, match="tablet"):
            await store.revoke_certificate("tablet", first)

    run(factory, tmp_path, scenario)


def test_stored_certificates_are_usable_within_their_validity_until_revoked(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_certificate(certificate("phone"))
        stored = await store.certificates()
        (record,) = stored
        assert not record.usable(START - timedelta(microseconds=1))
        assert record.usable(START)
        assert record.usable(record.expires_at - timedelta(microseconds=1))
        assert not record.usable(record.expires_at)
        revoked = await store.revoke_certificate("phone", START + timedelta(seconds=1))
        assert not revoked.usable(START + timedelta(days=1))

    run(factory, tmp_path, scenario)


# -- audit -----------------------------------------------------------------------------


def test_audit_events_are_appended_in_order(factory: StoreFactory, tmp_path: Path) -> None:
    written = [
        event(
            "token.issue",
            outcome="ok",
            target="0123456789abcdef",
            address="10.0.0.1",
            detail={"principal": "bob", "days": 30, "nested": {"ok": True}},
        ),
        AuditEvent(at=START, principal=None, action="sign-in", outcome="failed"),
        event("principal.add", at=START - timedelta(hours=1)),
    ]

    async def scenario(store: SecurityStore) -> None:
        assert await store.append_audit([]) == []
        first = await store.append_audit(written[:2])
        second = await store.append_audit(written[2:])
        assert len(first) == 2 and len(second) == 1
        assert first[0] < first[1] < second[0]
        read = await store.audit()
        assert [e.seq for e in read] == [*first, *second]
        # Oldest first means in the order appended, whatever the events' own times.
        assert [e.action for e in read] == ["token.issue", "sign-in", "principal.add"]
        for stored, original in zip(read, written, strict=True):
            assert stored.at == original.at and stored.detail == original.detail
            assert (stored.principal, stored.outcome, stored.target, stored.address) == (
                original.principal,
                original.outcome,
                original.target,
                original.address,
            )

    run(factory, tmp_path, scenario)


def test_audit_reads_since_after_seq_and_limit(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        seqs = await store.append_audit(
            [event(f"a{minute}", at=START + timedelta(minutes=minute)) for minute in range(10)]
        )

        async def actions(**query: Any) -> list[str]:
            return [e.action for e in await store.audit(**query)]

        def since(minutes: int) -> AuditFilter:
            return AuditFilter(since=START + timedelta(minutes=minutes))

        assert await actions(where=since(7)) == ["a7", "a8", "a9"]
        assert await actions(after_seq=seqs[7]) == ["a8", "a9"]
        assert await actions(limit=2) == ["a0", "a1"]
        assert await actions(where=since(2), after_seq=seqs[4], limit=2) == ["a5", "a6"]
        assert await actions(where=since(20)) == []
        assert await actions(after_seq=seqs[-1]) == []

    run(factory, tmp_path, scenario)


# -- audit filters ---------------------------------------------------------------------

FILTERED_TRAIL = [
    # (minute, principal, action, outcome)
    (0, "alice", "login", "ok"),
    (1, "bob", "tracks.read", "denied"),
    (2, "alice", "overlays.create", "ok"),
    (3, None, "login", "failed"),
    (4, "alice", "overlays.edit", "denied"),
    (5, "bob", "overlays", "ok"),
    (6, "bob", "overlaysx.create", "ok"),
    (7, "alice", "export", "denied"),
    (8, "bob", "overlays.delete", "ok"),
    (9, "alice", "a_b.c", "ok"),
    (10, "bob", "axb.c", "ok"),
]


def filtered_trail() -> list[AuditEvent]:
    return [
        AuditEvent(
            at=START + timedelta(minutes=minute), principal=who, action=action, outcome=outcome
        )
        for minute, who, action, outcome in FILTERED_TRAIL
    ]


def test_audit_reads_by_action_principal_outcome_and_time(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async def scenario(store: SecurityStore) -> None:
        seqs = await store.append_audit(filtered_trail())

        async def minutes(where: AuditFilter, **page: Any) -> list[int]:
            read = await store.audit(where, **page)
            return [int((e.at - START) / timedelta(minutes=1)) for e in read]

        assert await minutes(AuditFilter(action="login")) == [0, 3]
        # A trailing dot is a prefix: overlays.* but not "overlays" or "overlaysx.*".
        assert await minutes(AuditFilter(action="overlays.")) == [2, 4, 8]
        assert await minutes(AuditFilter(action="overlays")) == [5]
        # No pattern characters: an underscore is itself.
        assert await minutes(AuditFilter(action="a_b.")) == [9]
        assert await minutes(AuditFilter(principal="bob")) == [1, 5, 6, 8, 10]
        assert await minutes(AuditFilter(outcome="denied")) == [1, 4, 7]
        assert await minutes(AuditFilter(principal="alice", outcome="denied")) == [4, 7]
        assert await minutes(AuditFilter(action="overlays.", principal="alice")) == [2, 4]
        # since is inclusive, until exclusive: [since, until).
        window = AuditFilter(since=START + timedelta(minutes=2), until=START + timedelta(minutes=5))
        assert await minutes(window) == [2, 3, 4]
        assert await minutes(AuditFilter(until=START)) == []
        late = AuditFilter(outcome="ok", since=START + timedelta(minutes=4))
        assert await minutes(late) == [5, 6, 8, 9, 10]
        # Filters page like the whole trail: by seq, at most limit at a time.
        assert await minutes(AuditFilter(outcome="ok"), limit=2) == [0, 2]
        assert await minutes(AuditFilter(outcome="ok"), after_seq=seqs[2], limit=2) == [5, 6]
        assert await minutes(AuditFilter(principal="carol")) == []
        assert await minutes(AuditFilter()) == list(range(11))

    run(factory, tmp_path, scenario)


def test_audit_filters_refuse_times_without_a_zone() -> None:
    with pytest.raises(SecurityStoreError, match="timezone"):
        AuditFilter(since=datetime(2026, 5, 4, 9, 0))
    with pytest.raises(SecurityStoreError, match="timezone"):
        AuditFilter(until=datetime(2026, 5, 4, 9, 0))


def test_an_audit_filter_matches_across_timezones(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.append_audit(filtered_trail())
        two_hours_east = timezone(timedelta(hours=2))
        since = (START + timedelta(minutes=8)).astimezone(two_hours_east)
        read = await store.audit(AuditFilter(since=since))
        assert [e.action for e in read] == ["overlays.delete", "a_b.c", "axb.c"]

    run(factory, tmp_path, scenario)


# -- sharing ---------------------------------------------------------------------------


def test_two_stores_on_one_location_see_each_others_writes(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        server, cli = factory(tmp_path), factory(tmp_path)
        await server.open()
        await cli.open()
        try:
            await cli.add_principal(principal("alice"))
            await server.add_token(token("0" * 16))
            await cli.revoke_token("0" * 16, START)
            await server.append_audit([event("from-server")])
            await cli.append_audit([event("from-cli")])
            await server.add_certificate(certificate("phone"))
            await cli.revoke_certificate("phone", START)
            assert (await server.certificates()) == [certificate("phone", revoked_at=START)]
            await server.set_disabled("alice", True)
            assert (await server.principal("alice")) == principal("alice", disabled=True)
            assert (await cli.principal("alice")) == principal("alice", disabled=True)
            assert (await server.tokens()) == (await cli.tokens())
            assert [e.action for e in await server.audit()] == ["from-server", "from-cli"]
            assert [e.action for e in await cli.audit()] == ["from-server", "from-cli"]
        finally:
            await server.close()
            await cli.close()

    asyncio.run(scenario())


def test_what_is_stored_survives_reopening(factory: StoreFactory, tmp_path: Path) -> None:
    async def write(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_token(token("0" * 16))
        await store.add_certificate(certificate("phone"))
        await store.append_audit([event("kept")])

    async def read(store: SecurityStore) -> None:
        assert await store.principals() == [principal("alice")]
        assert await store.tokens() == [token("0" * 16)]
        assert await store.certificates() == [certificate("phone")]
        assert [e.action for e in await store.audit()] == ["kept"]

    run(factory, tmp_path, write)
    run(factory, tmp_path, read)


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

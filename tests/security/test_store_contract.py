"""The security store contract: every implementation must pass every case here.

A new backend joins by adding its backend to IMPLEMENTATIONS: a context that gives each
test a factory and cleans up after it. A factory builds a store on a location; two stores
built on the same location share their data.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tessera.core.model import Label, Principal, PrincipalKind, Role
from tessera.security.base import (
    AuditEvent,
    CertificateExistsError,
    CertificateRecord,
    PrincipalExistsError,
    SecurityStore,
    SecurityStoreError,
    TokenRecord,
    UnknownCertificateError,
    UnknownPrincipalError,
    UnknownTokenError,
)
from tessera.security.postgis import PostgisSecurityStore
from tessera.security.sqlite import (
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

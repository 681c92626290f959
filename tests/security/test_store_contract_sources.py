"""The security store contract, continued: the source registry, the TAK uids bound to
client certificates, and the deployment's secrets. Every backend of
``test_store_contract.IMPLEMENTATIONS`` passes every case."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tessera.security.base import (
    SecurityStore,
    SecurityStoreError,
    SourceGrant,
    UidTakenError,
    UnknownCertificateError,
    UnknownPrincipalError,
)
from tests.security.test_store_contract import (
    IMPLEMENTATIONS,
    START,
    StoreFactory,
    certificate,
    principal,
    run,
)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def factory(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    with IMPLEMENTATIONS[request.param]() as made:
        yield made


def grant(owner: str, pattern: str, minutes: int = 0) -> SourceGrant:
    return SourceGrant(
        principal=owner, pattern=pattern, granted_at=START + timedelta(minutes=minutes)
    )


def test_source_grants_are_kept_per_principal_and_listed_in_order(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_principal(principal("bob"))
        assert await store.add_source_grant(grant("bob", "uav-*"))
        assert await store.add_source_grant(grant("alice", "unit-7"))
        assert await store.add_source_grant(grant("alice", "BLUE-*", 1))
        # Granting again changes nothing, and keeps the first time.
        assert not await store.add_source_grant(grant("alice", "unit-7", 5))
        assert await store.source_grants("alice") == [
            grant("alice", "BLUE-*", 1),
            grant("alice", "unit-7"),
        ]
        assert await store.source_grants() == [
            grant("alice", "BLUE-*", 1),
            grant("alice", "unit-7"),
            grant("bob", "uav-*"),
        ]
        assert await store.source_grants("carol") == []
        assert await store.remove_source_grant("alice", "unit-7")
        assert not await store.remove_source_grant("alice", "unit-7")
        assert not await store.remove_source_grant("alice", "uav-*")
        assert await store.source_grants("alice") == [grant("alice", "BLUE-*", 1)]

    run(factory, tmp_path, scenario)


def test_a_grant_needs_a_known_principal_and_a_source_pattern(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async def scenario(store: SecurityStore) -> None:
        with pytest.raises(UnknownPrincipalError, match="nobody"):
            await store.add_source_grant(grant("nobody", "uav-1"))
        await store.add_principal(principal("alice"))
        for pattern in ("uav*-1", "-uav", "a b", "", "uav-1**", "x\x00y"):
            with pytest.raises(SecurityStoreError, match="SourceGrant"):
                await store.add_source_grant(grant("alice", pattern))
        assert await store.source_grants() == []
        # Every source: allowed, for the deployment's own feeds.
        assert await store.add_source_grant(grant("alice", "*"))

    run(factory, tmp_path, scenario)


def test_a_uid_is_bound_to_one_certificate_and_a_certificate_to_one_uid(
    factory: StoreFactory, tmp_path: Path
) -> None:
    phone, tablet = certificate("phone"), certificate("tablet", "bob")

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_principal(principal("bob"))
        await store.add_certificate(phone)
        await store.add_certificate(tablet)
        assert await store.certificate_uid(phone.fingerprint) is None
        assert await store.uid_holder("ANDROID-1") is None
        assert (
            await store.bind_certificate_uid(phone.fingerprint, "ANDROID-1", START) == "ANDROID-1"
        )
        # Bound once: another uid later does not move it.
        assert await store.bind_certificate_uid(phone.fingerprint.upper(), "ANDROID-2", START) == (
            "ANDROID-1"
        )
        assert await store.certificate_uid(phone.fingerprint) == "ANDROID-1"
        assert await store.uid_holder("ANDROID-1") == phone.fingerprint
        with pytest.raises(UidTakenError, match="ANDROID-1"):
            await store.bind_certificate_uid(tablet.fingerprint, "ANDROID-1", START)
        assert await store.certificate_uid(tablet.fingerprint) is None
        with pytest.raises(UnknownCertificateError):
            await store.bind_certificate_uid("0" * 64, "ANDROID-9", START)
        assert await store.uid_holder("ANDROID-9") is None

    run(factory, tmp_path, scenario)


def test_a_secret_is_made_once_and_shared_by_every_store_on_the_location(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async def both() -> None:
        first, second = factory(tmp_path), factory(tmp_path)
        await first.open()
        await second.open()
        try:
            made = await asyncio.gather(first.secret("ids"), second.secret("ids"))
            assert made[0] == made[1] and len(made[0]) == 32
            assert await first.secret("ids") == made[0]
            other = await second.secret("other")
            assert other != made[0] and len(other) == 32
        finally:
            await first.close()
            await second.close()

    asyncio.run(both())

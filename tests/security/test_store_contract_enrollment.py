"""The security store contract, continued: one-time enrollment tokens. Every backend of
``test_store_contract.IMPLEMENTATIONS`` passes every case."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tessera.security.base import (
    EnrollmentRecord,
    SecurityStore,
    SecurityStoreError,
    UnknownPrincipalError,
)
from tests.security.test_store_contract import (
    IMPLEMENTATIONS,
    START,
    StoreFactory,
    principal,
    run,
)

HASH = "cd" * 32


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def factory(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    with IMPLEMENTATIONS[request.param]() as made:
        yield made


def enrollment(name: str, owner: str = "alice", **fields: Any) -> EnrollmentRecord:
    values: dict[str, Any] = {
        "secret_hash": HASH,
        "created_at": START,
        "expires_at": START + timedelta(hours=1),
        **fields,
    }
    return EnrollmentRecord(name=name, principal=owner, **values)


def test_an_enrollment_token_is_kept_and_used_once(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_enrollment(enrollment("alice-phone"))
        assert await store.enrollment("alice-phone") == enrollment("alice-phone")
        assert await store.enrollment("nobody") is None
        at = START + timedelta(minutes=5)
        assert await store.use_enrollment("alice-phone", "ab" * 32, at) is None
        used = await store.use_enrollment("alice-phone", HASH, at)
        assert used == enrollment("alice-phone", used_at=at)
        assert await store.use_enrollment("alice-phone", HASH, at) is None
        assert await store.enrollment("alice-phone") == used

    run(factory, tmp_path, scenario)


def test_an_expired_token_cannot_be_used(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_enrollment(enrollment("alice-phone"))
        assert await store.use_enrollment("alice-phone", HASH, START + timedelta(hours=1)) is None
        assert await store.use_enrollment("nobody", HASH, START) is None

    run(factory, tmp_path, scenario)


def test_a_new_token_replaces_the_last_for_its_name(factory: StoreFactory, tmp_path: Path) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_principal(principal("bob"))
        await store.add_enrollment(enrollment("phone"))
        await store.use_enrollment("phone", HASH, START)
        again = enrollment("phone", "bob", secret_hash="ef" * 32)
        await store.add_enrollment(again)
        assert await store.enrollment("phone") == again
        assert await store.use_enrollment("phone", HASH, START) is None
        assert await store.use_enrollment("phone", "ef" * 32, START) is not None

    run(factory, tmp_path, scenario)


def test_a_token_needs_its_principal_and_a_valid_name(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async def scenario(store: SecurityStore) -> None:
        with pytest.raises(UnknownPrincipalError):
            await store.add_enrollment(enrollment("phone", "ghost"))
        await store.add_principal(principal("alice"))
        with pytest.raises(SecurityStoreError):
            await store.add_enrollment(enrollment("Not A Name"))
        assert await store.enrollment("phone") is None

    run(factory, tmp_path, scenario)


def test_of_two_stores_using_one_token_at_once_one_succeeds(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_enrollment(enrollment("phone"))

    run(factory, tmp_path, scenario)

    async def race() -> list[EnrollmentRecord | None]:
        stores = [factory(tmp_path) for _ in range(2)]
        for store in stores:
            await store.open()
        try:
            return list(
                await asyncio.gather(*(s.use_enrollment("phone", HASH, START) for s in stores))
            )
        finally:
            for store in stores:
                await store.close()

    results = asyncio.run(race())
    assert sum(result is not None for result in results) == 1

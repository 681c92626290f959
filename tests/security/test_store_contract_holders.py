"""The security store contract, continued: the certificates of many live connections and
their principals, found at once. Every backend of ``test_store_contract.IMPLEMENTATIONS``
passes every case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tessera.security.base import SecurityStore
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


def test_certificate_holders_give_each_known_certificate_with_its_principal(
    factory: StoreFactory, tmp_path: Path
) -> None:
    phone, tablet, bobs = certificate("phone"), certificate("tablet"), certificate("laptop", "bob")

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        await store.add_principal(principal("bob"))
        for record in (phone, tablet, bobs):
            await store.add_certificate(record)
        await store.revoke_certificate("tablet", START)
        await store.set_disabled("bob", True)
        asked = [phone.fingerprint.upper(), tablet.fingerprint, bobs.fingerprint, "0" * 64]
        found = await store.certificate_holders(asked)
        assert found == {
            phone.fingerprint: (phone, principal("alice")),
            tablet.fingerprint: (
                certificate("tablet", revoked_at=START),
                principal("alice"),
            ),
            bobs.fingerprint: (bobs, principal("bob", disabled=True)),
        }
        assert await store.certificate_holders([]) == {}

    run(factory, tmp_path, scenario)


def test_certificate_holders_answer_for_more_certificates_than_one_statement_takes(
    factory: StoreFactory, tmp_path: Path
) -> None:
    records = [certificate(f"phone-{number}") for number in range(2_000)]

    async def scenario(store: SecurityStore) -> None:
        await store.add_principal(principal("alice"))
        for record in records:
            await store.add_certificate(record)
        found = await store.certificate_holders([r.fingerprint for r in records])
        assert sorted(found) == sorted(r.fingerprint for r in records)

    run(factory, tmp_path, scenario)

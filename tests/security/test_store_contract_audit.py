"""The security store contract, continued: the audit trail, appended and read by filter.
Every backend of ``test_store_contract.IMPLEMENTATIONS`` passes every case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tessera.security.audit_filter import AuditFilter
from tessera.security.base import (
    AuditEvent,
    SecurityStore,
    SecurityStoreError,
)
from tests.security.test_store_contract import (
    IMPLEMENTATIONS,
    START,
    StoreFactory,
    event,
    run,
)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def factory(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    with IMPLEMENTATIONS[request.param]() as made:
        yield made


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

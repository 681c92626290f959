"""A TAK client's own uid is bound to its certificate: no other client can report as it,
nor put a marker in its place on other TAK maps. Refused events are neither relayed nor
journaled, and are on the audit trail."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tessera.core.model import Report
from tessera.security.audit_filter import AuditFilter
from tests.transports.cot_support import LiveCot
from tests.transports.test_cot_stream import (
    PytakClient,
    position,
    provision_certificate,
    pytak_config,
    run_cot,
)

pytestmark = pytest.mark.slow
FIELD = ("--communities", "NATO", "--clearance", "SECRET", "--default-label", "RESTRICTED:NATO")
PICTURES = [{"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]}]


def marker(uid: str, sender: str, lat: float) -> bytes:
    """A hostile spot a client placed (``link`` names the client that placed it)."""
    return (
        f'<event version="2.0" uid="{uid}" type="a-h-G" how="h-g-i-g-o" '
        'time="2026-11-25T10:00:00Z" start="2026-11-25T10:00:00Z" '
        f'stale="2030-11-25T10:00:00Z"><point lat="{lat}" lon="18.0" hae="0" ce="10" le="10"/>'
        f'<detail><link uid="{sender}" type="a-f-G-U-C" relation="p-p"/></detail></event>'
    ).encode()


async def journaled(live: LiveCot, at_least: int = 0) -> list[Report]:
    """The journal's reports, once it holds ``at_least``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        entries = await live.live.tessera.journal.read(0, 10_000)
        reports = [entry.report for entry in entries if entry.report is not None]
        if len(reports) >= at_least:
            return reports
        assert loop.time() < deadline, reports
        await asyncio.sleep(0.05)


def test_a_uid_bound_to_one_certificate_is_refused_to_every_other(tmp_path: Path) -> None:
    alpha = provision_certificate(tmp_path, "alpha-phone", "alpha", *FIELD, "--roles", "reporter")
    bravo = provision_certificate(tmp_path, "bravo-phone", "bravo", *FIELD, "--roles", "reporter")
    watcher = provision_certificate(tmp_path, "watch-phone", "watcher", *FIELD)

    async def scenario(live: LiveCot) -> None:
        url = f"tls://127.0.0.1:{live.ports['cot-tls']}"
        async with (
            PytakClient(pytak_config(url, **alpha)) as a,
            PytakClient(pytak_config(url, **bravo)) as b,
            PytakClient(pytak_config(url, **watcher)) as w,
        ):
            assert a.reader and b.reader and w.reader
            for client in (a, b, w):
                assert client.reader
                await client.reader.wait_for(lambda e: e.type == "t-x-takp-v")
            await a.send(position("ANDROID-alpha", 53.1, 18.0, "ALPHA"))
            await w.reader.wait_for(lambda e: e.uid == "ANDROID-alpha")
            # Bravo claims alpha's uid as its own, then puts a marker in alpha's place;
            # then reports as itself and places a marker of its own.
            await b.send(position("ANDROID-alpha", 54.9, 18.0, "ALPHA"))
            await b.send(position("ANDROID-bravo", 53.2, 18.0, "BRAVO"))
            await b.send(marker("ANDROID-alpha", "ANDROID-bravo", 55.5))
            await b.send(marker("spot-1", "ANDROID-bravo", 53.3))
            await w.reader.wait_for(lambda e: e.uid == "spot-1")
            alphas = [e for e in w.reader.events if e.uid == "ANDROID-alpha"]
            assert [round(e.lat, 1) for e in alphas] == [53.1]

        # Each certificate holds the uid it reported first.
        store = live.live.tessera.security
        uids = {
            record.name: await store.certificate_uid(record.fingerprint)
            for record in await store.certificates()
        }
        assert uids == {"alpha-phone": "ANDROID-alpha", "bravo-phone": "ANDROID-bravo",
                        "watch-phone": None}  # fmt: skip
        reports = await journaled(live, 3)
        assert {round(r.position.lat, 1) for r in reports} == {53.1, 53.2, 53.3}
        by_source = {(r.source.id, r.source.kind.value) for r in reports}
        assert by_source == {("ANDROID-alpha", "unit"), ("ANDROID-bravo", "unit"),
                             ("ANDROID-bravo", "human")}  # fmt: skip
        # The marker's uid is not bravo's to own: kept within bravo's own reports.
        (spot,) = [r for r in reports if r.source.kind.value == "human"]
        assert spot.subject is not None and spot.subject.startswith("spot-1~")
        await live.live.tessera.audit.flush()
        # One event per batch the client sent: both refusals, whichever batches they came in.
        refused = await store.audit(AuditFilter(action="cot.refused"))
        assert {(e.principal, e.outcome) for e in refused} == {("bravo", "denied")}
        assert sum(e.detail["refused"] for e in refused) == 2
        reasons = " ".join(reason for e in refused for reason in e.detail["reasons"])
        assert "another certificate" in reasons and "somebody else's unit" in reasons
        assert {uid for e in refused for uid in e.detail["uids"]} == {"ANDROID-alpha"}

    run_cot(tmp_path, scenario, pictures=PICTURES)


def test_a_uid_given_at_issue_is_the_clients_own_from_the_start(tmp_path: Path) -> None:
    alpha = provision_certificate(
        tmp_path, "alpha-phone", "alpha", *FIELD, "--roles", "reporter", uid="ANDROID-issued"
    )

    async def scenario(live: LiveCot) -> None:
        url = f"tls://127.0.0.1:{live.ports['cot-tls']}"
        async with PytakClient(pytak_config(url, **alpha)) as a:
            assert a.reader
            await a.reader.wait_for(lambda e: e.type == "t-x-takp-v")
            # Its first position about another uid is a spot it reports, not itself.
            await a.send(position("someone-else", 53.4, 18.0, "X"))
            await a.send(position("ANDROID-issued", 53.5, 18.0, "ALPHA"))
            reports = await journaled(live, 2)
        assert [(r.source.id, r.source.kind.value) for r in reports] == [
            ("ANDROID-issued", "human"),
            ("ANDROID-issued", "unit"),
        ]
        assert reports[1].subject == "ANDROID-issued"

    run_cot(tmp_path, scenario, pictures=PICTURES)

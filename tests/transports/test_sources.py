"""Sources are bound to principals: a partner cannot report as another's unit, drone or
sensor, nor move or relabel another's unit through a subject it does not own; over HTTP
and through imports. Grants come from the settings file and from ``tessera sources``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.core.model import Label, Principal, Role
from tessera.security.audit_filter import AuditFilter
from tessera.security.base import AuditEvent
from tessera.store.base import TrackQuery
from tests.support import Live, live_server, report_doc

NATO = Principal(
    name="nato-officer",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("RESTRICTED", ("NATO", "UKR")),
)
UKR = Principal(
    name="ukr-liaison",
    communities=("UKR",),
    clearance="CONFIDENTIAL",
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("RESTRICTED", ("NATO", "UKR")),
)
SHARED = {"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
PICTURES = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {"name": "UKR", "rule": {"releasable_to": "UKR"}, "reader_communities": ["UKR"]},
]
Scenario = Callable[[Live, httpx.AsyncClient, httpx.AsyncClient], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario, **overrides: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path, pictures=PICTURES, **overrides) as live:
            nato = await live.grant(NATO, sources=["nato-*"])
            ukr = await live.grant(UKR, sources=["ukr-*"])
            async with live.client(nato) as n, live.client(ukr) as u:
                await asyncio.wait_for(scenario(live, n, u), 60)

    asyncio.run(main())


def unit(name: str, lat: float, identity: str = "friend") -> dict[str, Any]:
    return report_doc(
        source=name, kind="unit", subject=name, identity=identity, lat=lat, label=SHARED
    )


async def fused(live: Live) -> None:
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)


async def denied(live: Live, principal: str) -> list[AuditEvent]:
    await live.tessera.audit.flush()
    return await live.tessera.security.audit(AuditFilter(principal=principal, outcome="denied"))


def test_a_report_as_another_principals_source_is_refused_naming_the_field(
    tmp_path: Path,
) -> None:
    async def scenario(live: Live, nato: httpx.AsyncClient, ukr: httpx.AsyncClient) -> None:
        before = live.tessera.journal.last_seq
        forged = [
            report_doc(source="ukr-uav-1", label=SHARED),
            report_doc(source="nato-uav-1", label=SHARED),
            unit("nato-bn-1", 53.2, identity="hostile"),
        ]
        refused = await ukr.post("/api/v1/reports", json=forged)
        assert refused.status_code == 403
        errors = refused.json()["errors"]
        assert [(e["index"], e["field"]) for e in errors] == [(1, "source.id"), (2, "source.id")]
        assert "nato-uav-1" in errors[0]["reason"] and "tessera sources add" in errors[0]["reason"]
        # All or nothing: not even the report it could send.
        assert live.tessera.journal.last_seq == before
        (event,) = await denied(live, "ukr-liaison")
        assert (event.action, event.detail["refused"]) == ("reports.submit", 2)
        # Its own sources it may report as.
        assert (await ukr.post("/api/v1/reports", json=forged[:1])).status_code == 202

    run(tmp_path, scenario)


def test_only_a_units_owner_reports_it_and_a_foreign_subject_moves_nothing_of_it(
    tmp_path: Path,
) -> None:
    async def scenario(live: Live, nato: httpx.AsyncClient, ukr: httpx.AsyncClient) -> None:
        assert (await nato.post("/api/v1/reports", json=[unit("nato-bn-1", 53.0)])).is_success
        await fused(live)
        # A unit's own report about another unit: refused, naming the subject.
        claim = report_doc(source="ukr-bn-1", kind="unit", subject="nato-bn-1", label=SHARED)
        claim["identity"] = "hostile"
        refused = await ukr.post("/api/v1/reports", json=[claim])
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["field"] == "subject"
        # A sighting naming it as its subject is the sender's own: it never moves the unit's
        # track nor flips its identity, in any picture.
        sighting = report_doc(
            source="ukr-uav-1", subject="nato-bn-1", identity="hostile", lat=53.4, label=SHARED
        )
        for _ in range(3):
            assert (await ukr.post("/api/v1/reports", json=[sighting])).status_code == 202
        await fused(live)
        for picture in ("NATO", "UKR"):
            _, tracks = live.tessera.store.tracks(picture, TrackQuery())
            own = next(track for track in tracks if track.id == "sub-nato-bn-1")
            assert own.identity.value == "friend"
            assert own.position.lat == pytest.approx(53.0, abs=1e-3)
            assert own.report_count == 1
            others = [t for t in tracks if t.id != "sub-nato-bn-1"]
            assert [t.subject for t in others] == ["nato-bn-1"]  # shown as the sender named it
            assert others[0].id.startswith("sub-nato-bn-1~")

    run(tmp_path, scenario)


def test_grants_from_the_settings_file_and_prefixes(tmp_path: Path) -> None:
    async def scenario(live: Live, nato: httpx.AsyncClient, ukr: httpx.AsyncClient) -> None:
        mine = [report_doc(source="ais-ukr-7", kind="ais", label=SHARED)]
        assert (await ukr.post("/api/v1/reports", json=mine)).status_code == 202
        # The prefix is a prefix of the id, not of a word: "ais-ukr" does not cover this.
        other = [report_doc(source="ais-uk", kind="ais", label=SHARED)]
        assert (await ukr.post("/api/v1/reports", json=other)).status_code == 403
        assert (await nato.post("/api/v1/reports", json=mine)).status_code == 403

    sources = [{"principal": "ukr-liaison", "ids": ["ais-ukr*"]}]
    run(tmp_path, scenario, sources=sources)


def test_an_import_reports_only_as_its_importers_sources(tmp_path: Path) -> None:
    cot = b"".join(
        b'<?xml version="1.0"?><event version="2.0" uid="%s" type="a-f-G-U-C" how="m-g" '
        b'time="2026-11-25T10:00:00Z" start="2026-11-25T10:00:00Z" '
        b'stale="2030-11-25T10:00:00Z"><point lat="53.1" lon="18.0" hae="0" ce="10" le="10"/>'
        b"</event>\n" % uid
        for uid in (b"nato-bn-1", b"nato-bn-2")
    )

    async def scenario(live: Live, nato: httpx.AsyncClient, ukr: httpx.AsyncClient) -> None:
        params = {"classification": "RESTRICTED", "releasable_to": "NATO,UKR"}
        before = live.tessera.journal.last_seq
        refused = await ukr.post("/api/v1/imports", params=params, content=cot)
        assert refused.status_code == 403
        assert [e["field"] for e in refused.json()["errors"]] == ["source.id", "source.id"]
        assert "source=" in refused.json()["error"]
        not_mine = await ukr.post(
            "/api/v1/imports", params={**params, "source": "nato-c2"}, content=cot
        )
        assert not_mine.status_code == 403
        assert live.tessera.journal.last_seq == before
        # As a system it owns, reporting what the file says about those units.
        taken = await ukr.post(
            "/api/v1/imports", params={**params, "source": "ukr-c2"}, content=cot
        )
        assert taken.status_code == 201, taken.text
        entries = await live.tessera.journal.read(before, 10)
        reports = [entry.report for entry in entries if entry.report is not None]
        assert {(r.source.id, r.source.kind.value) for r in reports} == {("ukr-c2", "system")}
        # Units it does not own: kept within its own reports.
        assert all(
            r.subject and r.subject.startswith("nato-bn-") and "~" in r.subject for r in reports
        )
        # The owner imports them as the units themselves.
        assert (await nato.post("/api/v1/imports", params=params, content=cot)).status_code == 201

    run(tmp_path, scenario)


def test_tessera_sources_grants_lists_and_takes_back_and_the_server_follows(
    tmp_path: Path,
) -> None:
    def tessera(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tessera.cli", *argv, "--data", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    async def scenario(live: Live, nato: httpx.AsyncClient, ukr: httpx.AsyncClient) -> None:
        doc = [report_doc(source="drone-9", label=SHARED)]
        assert (await ukr.post("/api/v1/reports", json=doc)).status_code == 403
        added = await asyncio.to_thread(tessera, "sources", "add", "ukr-liaison", "drone-*", "x9")
        assert added.returncode == 0, added.stderr
        assert "every source id starting 'drone-': granted" in added.stdout
        again = await asyncio.to_thread(tessera, "sources", "add", "ukr-liaison", "drone-*")
        assert "already held" in again.stdout
        listed = await asyncio.to_thread(tessera, "sources", "list", "ukr-liaison")
        rows = [line.split() for line in listed.stdout.splitlines()[1:]]
        assert [row[:3] for row in rows] == [
            ["ukr-liaison", "drone-*", "store"],
            ["ukr-liaison", "ukr-*", "store"],
            ["ukr-liaison", "x9", "store"],
        ]
        # The running server follows within its registry's few seconds.
        await until_status(ukr, doc, 202)
        removed = await asyncio.to_thread(tessera, "sources", "remove", "ukr-liaison", "drone-*")
        assert removed.returncode == 0, removed.stderr
        await until_status(ukr, doc, 403)
        missing = await asyncio.to_thread(tessera, "sources", "remove", "ukr-liaison", "drone-*")
        assert missing.returncode == 2 and "held no grant" in missing.stderr
        bad = await asyncio.to_thread(tessera, "sources", "add", "ukr-liaison", "a b")
        assert bad.returncode == 2 and "not a source id" in bad.stderr
        nobody = await asyncio.to_thread(tessera, "sources", "add", "nobody", "x")
        assert nobody.returncode == 2 and "nobody" in nobody.stderr
        await live.tessera.audit.flush()
        trail = await live.tessera.security.audit(AuditFilter(action="source."))
        assert [(e.action, e.target, e.detail["patterns"]) for e in trail[-2:]] == [
            ("source.grant", "ukr-liaison", ["drone-*", "x9"]),
            ("source.revoke", "ukr-liaison", ["drone-*"]),
        ]

    run(tmp_path, scenario)


async def until_status(client: httpx.AsyncClient, doc: list[dict[str, Any]], status: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while (answer := await client.post("/api/v1/reports", json=doc)).status_code != status:
        assert loop.time() < deadline, answer.text
        await asyncio.sleep(0.2)

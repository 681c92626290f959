"""Exports: a picture as NVG or GeoJSON, only the caller's, read back by the NVG reader,
and on the audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from tessera.codecs.nvg_read import read_nvg
from tessera.core.model import Label, Principal
from tests.support import Live, live_server, report_doc

PICTURES = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {"name": "UKR", "rule": {"releasable_to": "UKR"}, "reader_communities": ["UKR"]},
]


def test_a_partner_exports_its_picture_and_nothing_else(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        nato_only = {"classification": "SECRET", "releasable_to": ["NATO"]}
        shared = {"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
        async with live.client() as admin:
            posted = await admin.post(
                "/api/v1/reports",
                json=[
                    report_doc(report_id="n1", lat=53.0, label=nato_only, grading="B2"),
                    report_doc(report_id="s1", lat=54.0, label=shared, grading="C3"),
                ],
            )
        assert await live.tessera.worker.wait_caught_up(posted.json()["last_seq"], 10)
        partner = await live.grant(
            Principal(name="partner", communities=("UKR",), clearance="SECRET")
        )
        async with live.client(partner) as client:
            nvg = await client.get("/api/v1/export", params={"picture": "UKR", "format": "nvg"})
            assert nvg.status_code == 200
            assert nvg.headers["content-disposition"] == 'attachment; filename="UKR.nvg"'
            hidden = await client.get("/api/v1/export", params={"picture": "NATO", "format": "nvg"})
            assert hidden.status_code == 404
            bad = await client.get("/api/v1/export", params={"picture": "UKR", "format": "x"})
            assert bad.status_code == 400
        imported = read_nvg(
            nvg.content,
            label=Label("RESTRICTED", ("UKR",)),
            author="test",
            now=datetime.now(UTC),
            new_id=iter(f"i{n}" for n in range(100)).__next__,
        )
        assert [(round(r.position.lat, 6), r.grading.code) for r in imported.reports] == [
            (54.0, "C3")
        ]
        async with live.client() as admin:
            events = (await admin.get("/api/v1/audit")).json()["events"]
        exports = [e for e in events if e["action"] == "export"]
        assert [(e["principal"], e["target"], e["detail"]["format"]) for e in exports] == [
            ("partner", "UKR", "nvg")
        ]

    async def main() -> None:
        async with live_server(tmp_path, pictures=PICTURES) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())

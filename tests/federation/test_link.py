"""Two nodes over mutual TLS: what is released crosses, arrives as the link's reports,
within the ceiling; the link's status is in /health."""

from __future__ import annotations

from pathlib import Path

from tessera.core.model import Label, SourceKind
from tests.federation.support import journal_remarks, mesh, report, run, until


def test_released_reports_cross_over_mutual_tls_as_the_links_source(tmp_path: Path) -> None:
    async def scenario() -> None:
        release = {"max_classification": "CONFIDENTIAL", "releasable_to": "POL"}
        async with mesh(tmp_path, [("a", "b")], release=release, ceiling="RESTRICTED") as m:
            a, b = m.nodes["a"], m.nodes["b"]
            reports = [
                report("a", 1, label=Label("RESTRICTED", ("POL",))),  # crosses
                report("a", 2, label=Label("RESTRICTED", ("NATO",))),  # not for POL
                report("a", 3, label=Label("SECRET", ("POL",))),  # above the rule
                report("a", 4, label=Label("CONFIDENTIAL", ("POL",))),  # above b's ceiling
            ]
            await a.tessera.journal.append(reports)
            status = a.status("b")
            await until(lambda: status.position >= a.tessera.journal.last_seq, "b to hold a's")
            remarks = await journal_remarks(b.tessera)
            assert remarks == ["marker-a-r0000001"]
            assert b.status("a").refused_above_ceiling == 1
            entries = await b.tessera.journal.read(0, 10)
            crossed = entries[0].report
            assert crossed is not None
            assert crossed.source.id == "a" and crossed.source.kind is SourceKind.SYSTEM
            assert crossed.grading.code == "B2"
            assert status.connected and status.peer_node == "b"

    run(scenario())

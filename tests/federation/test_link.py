"""Two nodes over mutual TLS: what is released crosses, arrives as the link's reports,
within the ceiling; the link's status is in /health."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from benchmarks.impairment import Impairment

from tessera.codecs.federation import FrameWriter, Hello
from tessera.core.labels import AdmissionRule
from tessera.core.model import Identity, Label, SourceKind
from tessera.federation.config import FederationLink
from tessera.security.tls import CA_FILE, certs_dir
from tessera.transports.federation.tls import dialling_context
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


def test_a_link_resumes_after_resets_and_outages_losing_and_doubling_nothing(
    tmp_path: Path,
) -> None:
    """Connections reset every few packets and cut twice: every report is held once."""

    async def scenario() -> None:
        bad = Impairment(resets=0.05, seed=3)
        options: dict[str, Any] = {"batch_items": 5, "backoff_s": 0.05, "backoff_max_s": 0.2}
        async with mesh(tmp_path, [("a", "b")], impairment=bad, **options) as m:
            a, b = m.nodes["a"], m.nodes["b"]
            proxy, status = m.proxies[("a", "b")], a.status("b")
            made = 0
            for _ in range(2):
                proxy.cut()
                batch = [report("a", made + n, subject=f"u{n % 7}") for n in range(1, 41)]
                made += len(batch)
                await a.tessera.journal.append(batch)
                proxy.restore()
                await until(lambda: status.position >= a.tessera.journal.last_seq, "b to hold")
            held = await journal_remarks(b.tessera)
            assert len(held) == made == len(set(held))
            assert status.reconnects >= 2

    run(scenario())


def test_the_wire_of_a_tls_link_shows_nothing_of_what_it_carries(tmp_path: Path) -> None:
    carried = bytearray()

    def tap(number: int, way: str, data: bytes) -> None:
        carried.extend(data)

    async def scenario() -> None:
        async with mesh(tmp_path, [("a", "b")], tap=tap) as m:
            a, status = m.nodes["a"], m.nodes["a"].status("b")
            await a.tessera.journal.append([report("a", 1)])
            await until(lambda: status.position >= a.tessera.journal.last_seq, "b to hold it")
        assert carried and b"marker-a" not in carried and b"a-r1" not in carried

    run(scenario())


def test_after_an_outage_the_newest_of_each_object_arrives_first_hostile_first(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        options: dict[str, Any] = {"batch_items": 2, "backoff_s": 0.05, "backoff_max_s": 0.2}
        async with mesh(tmp_path, [("a", "b")], **options) as m:
            a, b = m.nodes["a"], m.nodes["b"]
            proxy, status = m.proxies[("a", "b")], a.status("b")
            await until(lambda: status.connected, "the link to come up")
            proxy.cut()
            base = datetime.now(UTC) - timedelta(minutes=1)
            batch = [
                report(
                    "a",
                    round_ * 3 + index,
                    subject=f"obj-{index}",
                    identity=Identity.HOSTILE if index == 2 else Identity.UNKNOWN,
                    at=base + timedelta(seconds=round_),
                )
                for round_ in range(4)
                for index in range(3)
            ]
            await a.tessera.journal.append(batch)
            proxy.restore()
            await until(lambda: status.position >= a.tessera.journal.last_seq, "b to hold")
            arrived = await journal_remarks(b.tessera)
            newest = {f"marker-a-r{9 + index:07d}" for index in range(3)}
            assert arrived[0] == "marker-a-r0000011"  # the hostile object's newest
            assert set(arrived[:3]) == newest
            assert len(arrived) == len(set(arrived)) == 12

    run(scenario())


def test_restarts_of_either_node_resume_where_the_receiver_stands(tmp_path: Path) -> None:
    async def scenario() -> None:
        options: dict[str, Any] = {"backoff_s": 0.05, "backoff_max_s": 0.2}
        async with mesh(tmp_path, [("a", "b")], **options) as m:
            a, b = m.nodes["a"], m.nodes["b"]

            async def settled(count: int) -> None:
                status = a.status("b")
                await until(lambda: status.position >= a.tessera.journal.last_seq, "b to hold")
                held = await journal_remarks(b.tessera)
                assert len(held) == len(set(held)) == count

            await a.tessera.journal.append([report("a", n) for n in range(10)])
            await settled(10)
            await b.stop()
            await a.tessera.journal.append([report("a", n) for n in range(10, 20)])
            await b.restart()
            await settled(20)
            await a.restart()  # its link starts afresh: b's Welcome says where to resume
            await a.tessera.journal.append([report("a", n) for n in range(20, 25)])
            await settled(25)
            assert a.status("b").sent == 5  # nothing b held was sent again

    run(scenario())


def test_a_node_whose_certificate_no_partner_ca_issued_is_turned_away(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mesh(tmp_path / "mesh", [("a", "b")]) as m:
            b = m.nodes["b"]
            stranger = FederationLink(
                name="b",
                peer=f"127.0.0.1:{b.port}",
                peer_ca=str(certs_dir(tmp_path / "mesh" / "b") / CA_FILE),
                release=AdmissionRule(),
                ceiling="SECRET",
            )
            context = dialling_context(tmp_path / "stranger", stranger, "stranger")

            async def dial() -> None:
                reader, writer = await asyncio.open_connection("127.0.0.1", b.port, ssl=context)
                try:
                    writer.write(FrameWriter().frame(Hello("stranger")))
                    await writer.drain()
                    await reader.readexactly(1)  # refused: the handshake fails
                finally:
                    writer.close()

            with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
                await dial()
            assert b.status("a").inbound == 0

    run(scenario())

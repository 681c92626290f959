"""A link to a TAK server, against a fake one on a loopback socket: what it sends is what
its rule releases (and stops being sent when it no longer is), what the server shares
becomes labelled, graded reports, our own events coming back are dropped, and a lost
connection is made again with the whole releasable picture sent anew."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.codecs.cot import CotEvent, encode_event
from tessera.codecs.cot_model import cot_time
from tessera.core.model import Report
from tessera.transports.tak_client.link import TakLinks, start_tak_links
from tests.support import ADMIN, Live, live_server, report_doc
from tests.transports.tak_client.support import FakeTakServer, until

NATO_RESTRICTED = {"classification": "RESTRICTED", "releasable_to": ["NATO"]}
NATO_SECRET = {"classification": "SECRET", "releasable_to": ["NATO"]}
UKR_RESTRICTED = {"classification": "RESTRICTED", "releasable_to": ["UKR"]}


def tak_server(address: str, **more: Any) -> dict[str, Any]:
    return {
        "name": "fake",
        "address": address,
        "principal": ADMIN.name,
        "release": {"max_classification": "RESTRICTED", "releasable_to": "NATO"},
        "label": {"classification": "RESTRICTED", "releasable_to": ["NATO"]},
        "grading": "B3",
        "backoff_s": 0.05,
        **more,
    }


@contextlib.asynccontextmanager
async def linked(tmp_path: Path, fake: FakeTakServer, **more: Any) -> AsyncIterator[
    tuple[Live, TakLinks]
]:  # fmt: skip
    async with live_server(tmp_path, tak_servers=[tak_server(fake.address, **more)]) as live:
        links = await start_tak_links(live.tessera)
        assert links is not None
        try:
            yield live, links
        finally:
            await links.stop()


async def post(live: Live, *docs: dict[str, Any]) -> None:
    async with live.client() as client:
        answer = await client.post("/api/v1/reports", json=list(docs))
        assert answer.status_code in (200, 201, 202), answer.text


def at_lat(events: list[CotEvent], lat: float) -> list[CotEvent]:
    return [event for event in events if abs(event.lat - lat) < 1e-6]


def run(coroutine: Any) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 60))


def test_only_what_the_rule_releases_is_sent_and_a_track_that_stops_being_is_removed(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with FakeTakServer() as fake, linked(tmp_path, fake) as (live, _):
            await until(lambda: fake.connections, "the link to connect")
            server = fake.connections[0]
            await until(lambda: server.events, "the link's presence")
            assert server.events[0].uid == "tessera-fake"
            # Not releasable first (too high, not to NATO), then releasable: the rule
            # keeps order, so once the third is sent the first two would have been.
            await post(live, report_doc(lat=51.0, subject="hi", label=NATO_SECRET))
            await post(live, report_doc(lat=52.0, subject="ukr", label=UKR_RESTRICTED))
            await post(live, report_doc(lat=53.0, subject="ok", label=NATO_RESTRICTED))
            await until(lambda: at_lat(server.events, 53.0), "the releasable track")
            assert at_lat(server.events, 51.0) == [] and at_lat(server.events, 52.0) == []
            sent = at_lat(server.events, 53.0)[0]
            assert sent.uid.startswith("tessera-fake.") and sent.how == "m-f"
            assert sent.stale > sent.time
            # The same track now built on a SECRET report too: no longer releasable, it
            # is sent once more, stale at once, and nothing of the new report goes out.
            await post(live, report_doc(lat=53.0001, subject="ok", label=NATO_SECRET))
            await until(
                lambda: any(e.uid == sent.uid and e.stale == e.time for e in server.events),
                "the removal",
            )
            assert at_lat(server.events, 53.0001) == []

    run(scenario())


def test_what_the_server_shares_becomes_reports_and_our_echo_is_dropped(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with FakeTakServer(echo=True) as fake, linked(tmp_path, fake) as (live, links):
            status = links.links[0].status
            await post(live, report_doc(lat=53.0, subject="ok", label=NATO_RESTRICTED))
            await until(lambda: fake.connections and fake.connections[0].events, "a connection")
            server = fake.connections[0]
            await until(lambda: at_lat(server.events, 53.0), "the releasable track")
            now = live.tessera.clock()
            stale = cot_time(now.replace(year=now.year + 1))
            android = CotEvent(
                uid="ANDROID-7", type="a-f-G-U-C", how="m-g", time=cot_time(now),
                start=cot_time(now), stale=stale, lat=50.5, lon=30.5, ce=12.0,
                callsign="VIPER",
            )  # fmt: skip
            server.send(encode_event(android))
            reports = await journaled(live, lambda r: r.source.id == "fake")
            assert len(reports) == 1
            report = reports[0]
            assert report.subject == "fake:ANDROID-7"
            assert report.source.kind.value == "system" and report.grading.code == "B3"
            assert (report.label.classification, report.label.releasable_to) == (
                "RESTRICTED",
                ("NATO",),
            )
            # Both our presence and our track came back from the server, and were dropped.
            assert status.echoes >= 2 and status.reports == 1
            # What came from this server is not sent back to it as a track of ours.
            await post(live, report_doc(lat=54.0, subject="later", label=NATO_RESTRICTED))
            await until(lambda: at_lat(server.events, 54.0), "the later track")
            assert at_lat(server.events, 50.5) == []

    run(scenario())


async def journaled(live: Live, wanted: Any) -> list[Report]:
    journal = live.tessera.journal
    found: list[Report] = []

    def check() -> bool:
        return bool(found)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not found:
        assert loop.time() < deadline, "no such report was journaled"
        entries = await journal.read(0, 100_000)
        found = [e.report for e in entries if e.report is not None and wanted(e.report)]
        if not found:
            await asyncio.sleep(0.02)
    return found


def test_a_lost_connection_is_made_again_and_the_picture_sent_anew(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with FakeTakServer() as fake, linked(tmp_path, fake) as (live, links):
            status = links.links[0].status
            await post(live, report_doc(lat=53.0, subject="ok", label=NATO_RESTRICTED))
            await until(
                lambda: fake.connections and at_lat(fake.connections[0].events, 53.0),
                "the track on the first connection",
            )
            async with httpx.AsyncClient(base_url=live.base_url) as anyone:
                health = (await anyone.get("/api/v1/health")).json()
            assert health["tak_servers"] == {"configured": 1, "connected": 1}
            async with live.client() as admin:
                (detail,) = (await admin.get("/api/v1/status")).json()["tak_servers"]
            assert detail["name"] == "fake" and detail["state"] == "connected"
            assert detail["sent"] >= 2  # its presence and the track
            fake.connections[0].writer.close()  # the server drops the link
            await until(lambda: len(fake.connections) >= 2, "a second connection")
            second = fake.connections[1]
            await until(lambda: at_lat(second.events, 53.0), "the track sent anew")
            assert second.events[0].uid == "tessera-fake"  # presence first, again
            assert status.reconnects >= 1 and status.connected
            assert "closed the connection" in (status.last_error or "")

    run(scenario())


def test_an_unreachable_server_is_retried_with_a_growing_wait(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with FakeTakServer() as fake:
            address = fake.address
        waits: list[float] = []
        async with live_server(
            tmp_path, tak_servers=[tak_server(address, backoff_s=0.01, backoff_max_s=0.04)]
        ) as live:
            links = TakLinks(live.tessera)
            link = links.links[0]

            async def counted(delay: float) -> None:
                waits.append(delay)
                await asyncio.sleep(0)

            link._sleep = counted
            links.start()
            try:
                await until(lambda: len(waits) >= 5, "five attempts")
            finally:
                await links.stop()
            assert waits[:5] == [0.01, 0.02, 0.04, 0.04, 0.04]
            assert link.status.state in ("waiting", "stopped", "connecting")
            assert not link.status.connected and link.status.last_error

    run(scenario())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"address": "udp://127.0.0.1:8087"}, "tcp://HOST:PORT or tls://HOST:PORT"),
        ({"picture": "NOPE"}, "no picture named 'NOPE'"),
        ({"ca_file": "/x.pem"}, "certificates are for a tls:// address"),
        ({"release": {"max_classification": "COSMIC"}}, "'COSMIC' is not one of"),
        ({"grading": "Z9"}, "grading"),
    ],
)
def test_bad_settings_are_refused_clearly(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    from tessera.settings import load_settings

    with pytest.raises(ValueError, match="tak server fake") as refused:
        load_settings(
            data_dir=tmp_path, tak_servers=[{**tak_server("tcp://127.0.0.1:8087"), **change}]
        )
    assert message in str(refused.value)


def test_a_tak_server_may_not_report_as_a_feed_does(tmp_path: Path) -> None:
    from tessera.settings import load_settings

    feed = {"name": "fake", "kind": "ais", "address": "udp://127.0.0.1:0", "principal": "p"}
    with pytest.raises(ValueError, match="a feed already reports as that name"):
        load_settings(
            data_dir=tmp_path, feeds=[feed], tak_servers=[tak_server("tcp://127.0.0.1:8087")]
        )

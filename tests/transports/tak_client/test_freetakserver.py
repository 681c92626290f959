"""Tessera joined to FreeTAKServer (from PyPI, pinned, started here): what a pytak client
of FreeTAKServer reports appears in Tessera's picture as reports of the link, and
Tessera's tracks that the link's rule releases appear to that client, the others never.

FreeTAKServer runs in a network and mount namespace of its own (it hard-codes ports and
writes under /opt and /var/log: ``benchmarks.peers.servers``), reached through a loopback
bridge. It is installed by ``make peers`` (which ``make test`` runs); outside CI a
machine without it, or without the rights to make namespaces, skips this test."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from benchmarks.peers.bridge import netns_bridge
from benchmarks.peers.install import FREETAKSERVER
from benchmarks.peers.servers import freetakserver

from tessera.codecs.cot import CotEvent
from tessera.store.base import TrackQuery
from tessera.transports.tak_client.link import start_tak_links
from tests.services import in_ci
from tests.support import ADMIN, Live, live_server, report_doc
from tests.transports.tak_client.support import until
from tests.transports.test_cot_stream import PytakClient, position, pytak_config

pytestmark = pytest.mark.slow

NATO_RESTRICTED = {"classification": "RESTRICTED", "releasable_to": ["NATO"]}
NATO_SECRET = {"classification": "SECRET", "releasable_to": ["NATO"]}
UKR_RESTRICTED = {"classification": "RESTRICTED", "releasable_to": ["UKR"]}
ROUNDS = 30


def _require_freetakserver() -> None:
    """Outside CI, skip without FreeTAKServer installed or the rights to run it; in CI
    never skip: a missing install is made by the launcher, missing rights fail."""
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")):
        reason = "running FreeTAKServer in its own namespaces needs root, unshare and nsenter"
        if in_ci():
            pytest.fail(f"{reason}: CI must provide them")
        pytest.skip(reason)
    if not FREETAKSERVER.stamp.exists() and not in_ci():
        pytest.skip(f"FreeTAKServer is not installed in {FREETAKSERVER.folder} (make peers)")


def near(events: list[CotEvent], lat: float) -> list[CotEvent]:
    return [event for event in events if abs(event.lat - lat) < 0.01]


async def post(live: Live, docs: list[dict[str, Any]]) -> None:
    async with live.client() as client:
        answer = await client.post("/api/v1/reports", json=docs)
        assert answer.status_code in (200, 201, 202), answer.text


@pytest.mark.timeout(600)
def test_positions_cross_both_ways_with_freetakserver_and_only_what_is_released(
    tmp_path: Path,
) -> None:
    _require_freetakserver()
    with freetakserver() as running:
        assert running.netns is not None
        asyncio.run(asyncio.wait_for(_exchange(tmp_path, running.netns, running.port), 240))


async def _exchange(tmp_path: Path, netns: str, fts_port: int) -> None:
    async with netns_bridge(netns, "127.0.0.1", fts_port) as port:
        link = {
            "name": "fts",
            "address": f"tcp://127.0.0.1:{port}",
            "principal": ADMIN.name,
            "release": {"max_classification": "RESTRICTED", "releasable_to": "NATO"},
            "label": NATO_RESTRICTED,
            "grading": "C3",
            "backoff_s": 0.2,
        }
        async with live_server(tmp_path, tak_servers=[link]) as live:
            links = await start_tak_links(live.tessera)
            assert links is not None
            status = links.links[0].status
            try:
                await until(lambda: status.connected, "the link to FreeTAKServer")
                config = pytak_config(f"tcp://127.0.0.1:{port}")
                async with PytakClient(config) as viper:
                    assert viper.reader is not None
                    events = viper.reader.events
                    for _ in range(ROUNDS):
                        # The client's own position, and Tessera's picture: not releasable
                        # (too high; not to NATO) before releasable, on every round.
                        await viper.send(position("pytak-viper", 50.25, 30.5, "VIPER"))
                        await post(live, [report_doc(lat=51.0, subject="secret-unit",
                                                     label=NATO_SECRET)])  # fmt: skip
                        await post(live, [report_doc(lat=52.0, subject="ukr-unit",
                                                     label=UKR_RESTRICTED)])  # fmt: skip
                        await post(live, [report_doc(lat=53.0, subject="nato-unit",
                                                     label=NATO_RESTRICTED)])  # fmt: skip
                        if await _within(lambda: near(events, 53.0) and _viper_track(live)):
                            break
                    released = near(events, 53.0)
                    assert released, "Tessera's releasable track never reached the client"
                    assert all(e.uid.startswith("tessera-fts.") for e in released)
                    assert near(events, 51.0) == [] and near(events, 52.0) == []
                    track = _viper_track(live)
                    assert track is not None, "the client's position never reached Tessera"
                    assert abs(track.position.lat - 50.25) < 1e-6
                    assert [source.id for source in track.sources] == ["fts"]
                    assert track.label.releasable_to == ("NATO",)
                    # FreeTAKServer echoed what the link sent; none of it came back in.
                    assert status.echoes > 0
            finally:
                await links.stop()


async def _within(check: Any, seconds: float = 1.0) -> bool:
    """Whether ``check()`` holds within ``seconds`` (then the next round is sent)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def _viper_track(live: Live) -> Any:
    _, tracks = live.tessera.store.tracks("COP", TrackQuery())
    found = [track for track in tracks if track.subject == "fts:pytak-viper"]
    return found[0] if found else None

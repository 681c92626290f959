"""A delete retracts what a marker said: with a picture configured, a marker (``a-*``) is
also a spot report, fused into a track; its author's delete journals a retraction, fusion
drops the track, and no client that connects later is given the marker or its track, in
XML or in TAK protocol version 1."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path

import pytest

from tessera.codecs.cot import CotEvent
from tessera.core.model import Identity, Label, Position, Report, Source, SourceKind
from tessera.store.base import TrackQuery
from tests.transports.cot_support import LiveCot
from tests.transports.test_cot_addressing import (
    FIELD,
    delete,
    marker,
    negotiated,
    pytak_client,
)
from tests.transports.test_cot_stream import (
    NATO_PICTURE,
    provision_certificate,
    pytak_config,
    run_cot,
)

pytestmark = pytest.mark.slow
PICTURE = str(NATO_PICTURE["name"])


def unit_report(now: datetime, report_id: str = "fence-1", lat: float = 53.5) -> Report:
    return Report(
        id=report_id,
        source=Source(id="fence-unit", kind=SourceKind.UNIT),
        observed_at=now,
        position=Position(lat=lat, lon=18.0),
        subject="fence-unit",
        identity=Identity.FRIEND,
        label=Label("RESTRICTED", ("NATO",)),
    )


async def picture_holds(live: LiveCot, prefix: str, present: bool) -> None:
    """Wait until the picture holds a track whose id starts with ``prefix`` (or none)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        _, tracks = live.live.tessera.store.tracks(PICTURE, TrackQuery())
        ids = [track.id for track in tracks]
        if any(i.startswith(prefix) for i in ids) == present:
            return
        assert loop.time() < deadline, ids
        await asyncio.sleep(0.05)


def of_marker(events: list[CotEvent], uid: str) -> list[str]:
    return [e.uid for e in events if uid in e.uid]


def test_a_deleted_marker_and_its_fused_track_reach_no_later_client(tmp_path: Path) -> None:
    phones = {
        name: provision_certificate(
            tmp_path, f"{name}-phone", name, *FIELD, "--roles", roles, uid=f"ANDROID-{name}"
        )
        for name, roles in (
            ("alpha", "reporter"),
            ("watcher", "viewer"),
            ("late", "viewer"),
            ("later", "viewer"),
            ("ops", "viewer,operator"),
        )
    }

    async def scenario(live: LiveCot) -> None:
        tessera = live.live.tessera
        port = live.ports["cot-tls"]
        url = f"tls://127.0.0.1:{port}"
        async with AsyncExitStack() as stack:
            alpha = await pytak_client(stack, pytak_config(url, **phones["alpha"]))
            watcher = await pytak_client(stack, pytak_config(url, **phones["watcher"]))
            assert alpha.reader and watcher.reader
            await alpha.send(marker("mark-m", "ANDROID-alpha", 53.1))
            await watcher.reader.wait_for(lambda e: e.uid == "mark-m")
            await picture_holds(live, "sub-mark-m~", True)

            await alpha.send(delete("del-m", "mark-m"))
            await watcher.reader.wait_for(lambda e: e.uid == "del-m")
            await picture_holds(live, "sub-mark-m~", False)
            entries = await tessera.journal.read(0, 10_000)
            retractions = [e.report for e in entries if e.report and e.report.retraction]
            assert [r.subject.partition("~")[0] for r in retractions if r.subject] == ["mark-m"]
            # An operator's delete of somebody else's marker retracts it as its author's.
            ops = await pytak_client(stack, pytak_config(url, **phones["ops"]))
            await alpha.send(marker("mark-n", "ANDROID-alpha", 53.2))
            await picture_holds(live, "sub-mark-n~", True)
            await ops.send(delete("del-n", "mark-n"))
            await picture_holds(live, "sub-mark-n~", False)

            # A unit the picture holds, which later clients are sent with the rest of it.
            await tessera.journal.append([unit_report(tessera.clock())])
            await picture_holds(live, "sub-fence-unit", True)

            # Later clients, in XML and in protobuf, get the picture as it stands: the
            # unit, and nothing of the deleted marker.
            late = await pytak_client(stack, pytak_config(url, **phones["late"]))
            later = await stack.enter_async_context(negotiated(port, phones["later"]))
            assert late.reader
            for reader in (late.reader, later.reader):
                await reader.wait_for(lambda e: e.uid == "fence-unit")
                assert of_marker(reader.events, "mark-m") == []
                assert of_marker(reader.events, "mark-n") == []
            # And what changes after: in protobuf to the client that asked for it.
            await tessera.journal.append([unit_report(tessera.clock(), "fence-2", 53.6)])
            await later.reader.wait_for(lambda e: e.uid == "fence-unit" and e.lat > 53.55)
            assert "fence-unit" in later.protobuf_uids()
            assert not [uid for uid in later.protobuf_uids() if "mark-m" in uid]

    run_cot(tmp_path, scenario, pictures=[NATO_PICTURE])

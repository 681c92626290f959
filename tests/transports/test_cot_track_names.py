"""Fused tracks reach TAK maps under readable callsigns: a unit's own callsign (from its
own reports, in pictures that admit their label), else a short name such as ``H ARMR
3F2A``; never the long internal id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tessera.core.labels import AdmissionRule, ClassificationScheme, Picture
from tessera.core.model import Label
from tessera.core.track_names import IDENTITY_LETTERS
from tessera.store.base import TrackQuery
from tessera.transports.cot_stream.callsigns import UnitCallsigns
from tests.support import report_doc, track_of
from tests.transports.cot_support import CotReader, LiveCot
from tests.transports.test_cot_stream import NATO_PICTURE, run_cot

RESTRICTED_NATO = Label("RESTRICTED", ("NATO",))


async def tak_reader(live: LiveCot) -> tuple[CotReader, asyncio.Task[None], asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", live.ports["cot"])
    cot = CotReader(reader)
    return cot, asyncio.create_task(cot.run()), writer


@pytest.mark.slow
def test_a_fused_hostile_track_reaches_tak_maps_under_a_short_readable_name(
    tmp_path: Path,
) -> None:
    async def scenario(live: LiveCot) -> None:
        doc = report_doc(report_id="h1", label={"classification": "RESTRICTED",
                                                "releasable_to": ["NATO"]})  # fmt: skip
        doc["sidc"] = "10061000001205000000"
        async with live.live.client() as admin:
            posted = await admin.post("/api/v1/reports", json=[doc])
            assert posted.status_code in (200, 202), posted.text
        tessera = live.live.tessera
        assert await tessera.worker.wait_caught_up(tessera.journal.last_seq, 10)
        track_id = track_of(live.live, "h1")
        cot, reading, writer = await tak_reader(live)
        try:
            event = await cot.wait_for(lambda e: e.uid.endswith(track_id))
        finally:
            reading.cancel()
            writer.close()
        # One UAV's sighting of hostile armour: fused as suspect (or hostile) armour.
        track = tessera.store.track("NATO", track_id)
        assert track is not None
        letter = IDENTITY_LETTERS[track.identity]
        assert letter in "SH" and event.callsign == f"{letter} ARMR {track_id[-4:].upper()}"
        assert event.uid == f"tessera-NATO-{track_id}"  # the uid is kept as it was

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field", pictures=[NATO_PICTURE])


def short_lived_position(uid: str, callsign: str, stale_after: timedelta) -> bytes:
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    stale = (now + stale_after).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f'<event version="2.0" uid="{uid}" type="a-f-G-U-C" how="m-g" time="{stamp}" '
        f'start="{stamp}" stale="{stale}"><point lat="53.1" lon="18.0" hae="0" ce="10" '
        f'le="10"/><detail><contact callsign="{callsign}"/></detail></event>'
    ).encode()


@pytest.mark.slow
def test_a_units_fused_track_keeps_the_callsign_its_own_reports_carry(tmp_path: Path) -> None:
    stale_after = timedelta(seconds=1.5)

    async def scenario(live: LiveCot) -> None:
        tessera = live.live.tessera
        _, gateway = await asyncio.open_connection("127.0.0.1", live.ports["cot"])
        gateway.write(short_lived_position("gw-alpha", "ALPHA 1", stale_after))
        await gateway.drain()
        # Once the unit's own position has gone stale, a client that connects gets its
        # fused track instead (one object on a TAK map: the unit's uid).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        stale_at = datetime.now(UTC) + stale_after
        while True:
            _, tracks = tessera.store.tracks("NATO", TrackQuery())
            if any(t.subject == "gw-alpha" for t in tracks) and datetime.now(UTC) > stale_at:
                break
            assert loop.time() < deadline
            await asyncio.sleep(0.05)
        cot, reading, writer = await tak_reader(live)
        try:
            event = await cot.wait_for(lambda e: e.uid == "gw-alpha")
        finally:
            reading.cancel()
            writer.close()
            gateway.close()
        assert (event.how, event.callsign) == ("m-f", "ALPHA 1")

    run_cot(
        tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field",
        cot_tcp_mode="gateway", pictures=[NATO_PICTURE],
    )  # fmt: skip


def test_a_callsign_names_tracks_only_in_pictures_that_admit_its_label() -> None:
    scheme = ClassificationScheme()
    nato = Picture(name="NATO", rule=AdmissionRule(releasable_to="NATO"))
    ukr = Picture(name="UKR", rule=AdmissionRule(releasable_to="UKR"))
    callsigns = UnitCallsigns(scheme, max_units=2)
    callsigns.heard("alpha", "ALPHA 1", RESTRICTED_NATO)
    assert callsigns.of("alpha", nato) == "ALPHA 1"
    assert callsigns.of("alpha", ukr) is None
    # Blank callsigns are not names; the units heard longest ago are forgotten first.
    callsigns.heard("bravo", "  ", RESTRICTED_NATO)
    callsigns.heard("charlie", "CHARLIE", RESTRICTED_NATO)
    callsigns.heard("delta", "DELTA", RESTRICTED_NATO)
    assert [callsigns.of(uid, nato) for uid in ("alpha", "bravo", "charlie", "delta")] == [
        None,
        None,
        "CHARLIE",
        "DELTA",
    ]

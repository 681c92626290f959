"""A plain port set up as a gateway of many units (a radio gateway, a UDP mesh): each uid
it reports is a unit of its own, within the sources its principal owns; a marker linked
to one of them is that unit's spot report. A port left as one client keeps taking the
first uid as the connection's own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tessera.core.model import Principal, Report, SourceKind, Track, is_subjects_own_track
from tessera.security.audit_filter import AuditFilter
from tessera.settings import load_settings
from tessera.store.base import TrackQuery
from tests.transports.cot_support import LiveCot
from tests.transports.test_cot_stream import FIELD, NATO_PICTURE, run_cot

pytestmark = pytest.mark.slow
UNITS = ("gw-alpha", "gw-bravo", "gw-charlie")
# A radio gateway's principal, granted its units' sources (gw-*) and nothing else.
RADIO = Principal(
    name="radio-gw",
    communities=FIELD.communities,
    clearance=FIELD.clearance,
    roles=FIELD.roles,
    default_label=FIELD.default_label,
)


def cot_position(uid: str, lat: float, callsign: str, *, link: str | None = None) -> bytes:
    """A friendly ground unit's position (or, with ``link``, a hostile marker placed by
    the unit ``link`` names), current for five minutes."""
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    stale = (now + timedelta(minutes=5)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    cot_type = "a-f-G-U-C" if link is None else "a-h-G"
    linked = "" if link is None else f'<link uid="{link}" type="a-f-G-U-C" relation="p-p"/>'
    return (
        f'<event version="2.0" uid="{uid}" type="{cot_type}" how="m-g" time="{stamp}" '
        f'start="{stamp}" stale="{stale}"><point lat="{lat}" lon="18.0" hae="0" ce="10" '
        f'le="10"/><detail><contact callsign="{callsign}"/>{linked}</detail></event>'
    ).encode()


async def journaled(live: LiveCot, count: int) -> list[Report]:
    """The journal's reports, once it holds ``count``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        entries = await live.live.tessera.journal.read(0, 10_000)
        reports = [entry.report for entry in entries if entry.report is not None]
        if len(reports) >= count:
            return reports
        assert loop.time() < deadline, reports
        await asyncio.sleep(0.05)


async def fused_tracks(live: LiveCot) -> list[Track]:
    tessera = live.live.tessera
    assert await tessera.worker.wait_caught_up(tessera.journal.last_seq, 10)
    _, tracks = tessera.store.tracks("NATO", TrackQuery())
    return tracks


async def send_over_tcp(live: LiveCot, events: list[bytes]) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", live.ports["cot"])
    writer.write(b"".join(events))
    await writer.drain()
    writer.close()


def assert_three_units(reports: list[Report], tracks: list[Track]) -> None:
    units = [report for report in reports if report.subject in UNITS]
    assert {(r.source.id, r.source.kind, r.subject) for r in units} == {
        (uid, SourceKind.UNIT, uid) for uid in UNITS
    }
    assert not [r for r in reports if r.source.kind is SourceKind.HUMAN and r.subject in UNITS]
    own = {t.subject for t in tracks if is_subjects_own_track(t.id, t.subject)}
    assert own >= set(UNITS)


def test_a_tcp_gateway_carries_many_units_each_its_own_source(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        events = [cot_position(uid, 53.1 + i / 10, uid.upper()) for i, uid in enumerate(UNITS)]
        # A marker bravo placed: bravo's spot report, not the connection's first unit's.
        events.append(cot_position("spot-7", 53.9, "Red Market", link="gw-bravo"))
        await send_over_tcp(live, events)
        reports = await journaled(live, 4)
        tracks = await fused_tracks(live)
        assert_three_units(reports, tracks)
        (spot,) = [r for r in reports if r.source.kind is SourceKind.HUMAN]
        assert spot.source.id == "gw-bravo" and spot.position.lat == 53.9
        assert len(tracks) == 4
        # No uid became the connection's own.
        assert all(session.own_uid is None for session in live.cot.sessions())

    run_cot(
        tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field",
        cot_tcp_mode="gateway", pictures=[NATO_PICTURE],
    )  # fmt: skip


def test_a_udp_mesh_is_a_gateway_of_many_units_by_default(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", live.ports["cot-udp"])
        )
        try:
            for index, uid in enumerate(UNITS):
                transport.sendto(cot_position(uid, 53.1 + index / 10, uid.upper()))
            reports = await journaled(live, 3)
        finally:
            transport.close()
        assert_three_units(reports, await fused_tracks(live))

    run_cot(tmp_path, scenario, cot_udp_port=0, cot_udp_principal="field", pictures=[NATO_PICTURE])


def test_a_client_port_takes_its_first_uid_as_its_own_and_the_rest_as_markers(
    tmp_path: Path,
) -> None:
    async def scenario(live: LiveCot) -> None:
        events = [cot_position(uid, 53.1 + i / 10, uid.upper()) for i, uid in enumerate(UNITS)]
        await send_over_tcp(live, events)
        reports = await journaled(live, 3)
        kinds = {(r.source.id, r.source.kind) for r in reports}
        assert kinds == {("gw-alpha", SourceKind.UNIT), ("gw-alpha", SourceKind.HUMAN)}

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field")


def test_a_gateway_unit_its_principal_does_not_own_is_refused_and_audited(
    tmp_path: Path,
) -> None:
    async def scenario(live: LiveCot) -> None:
        await live.live.grant(RADIO, sources=["gw-*"])
        await send_over_tcp(
            live,
            [
                cot_position("stranger-1", 53.0, "STRANGER"),
                cot_position("gw-alpha", 53.1, "ALPHA"),
                cot_position("spot-9", 53.2, "Spot", link="stranger-1"),
            ],
        )
        (report,) = await journaled(live, 1)
        assert report.source.id == "gw-alpha" and report.source.kind is SourceKind.UNIT
        tessera = live.live.tessera
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:
            await tessera.audit.flush()
            refused = await tessera.security.audit(AuditFilter(action="cot.refused"))
            if sum(int(e.detail["refused"]) for e in refused) >= 2 or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        assert {(e.principal, e.outcome) for e in refused} == {("radio-gw", "denied")}
        assert {uid for e in refused for uid in e.detail["uids"]} == {"stranger-1", "spot-9"}
        reasons = " ".join(reason for e in refused for reason in e.detail["reasons"])
        assert "'stranger-1' is not registered to you" in reasons
        entries = await tessera.journal.read(0, 100)
        assert [e.report.source.id for e in entries if e.report is not None] == ["gw-alpha"]

    run_cot(
        tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="radio-gw",
        cot_tcp_mode="gateway", pictures=[NATO_PICTURE],
    )  # fmt: skip


@pytest.mark.parametrize("setting", ["cot_tcp_mode", "cot_udp_mode"])
def test_an_unknown_port_mode_is_a_clear_settings_error(setting: str) -> None:
    with pytest.raises(ValueError, match=rf"'bridge'.*{setting}"):
        load_settings(None, **{setting: "bridge"})

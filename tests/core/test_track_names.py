"""Tracks are called by readable names: a unit by its own callsign or its id, anything
else by identity, kind and the end of its id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Source,
    SourceKind,
    Track,
    TrackStatus,
)
from tessera.core.track_names import short_track_name, track_kind, track_name

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
HOSTILE_ARMOUR = "10061000001205000000"
TRACK_ID = "trk-5d41402abc4b2a76b9719d911017c592"


def track(**changes: Any) -> Track:
    base = Track(
        id=TRACK_ID,
        position=Position(lat=53.1, lon=18.0),
        velocity=None,
        identity=Identity.HOSTILE,
        identity_confidence=0.8,
        sidc=HOSTILE_ARMOUR,
        status=TrackStatus.CONFIRMED,
        first_at=NOW,
        updated_at=NOW,
        subject=None,
        quantity=None,
        grading=Grading.parse("B2"),
        label=Label("RESTRICTED", ("NATO",)),
        sources=(Source("uav-17", SourceKind.UAV),),
        lineage=("r1",),
        report_count=1,
    )
    return msgspec.structs.replace(base, **changes)


def test_a_fused_hostile_track_is_called_by_identity_kind_and_id_suffix() -> None:
    assert track_name(track()) == "H ARMR C592"


def test_the_name_stays_the_same_as_the_track_is_updated() -> None:
    later = track(
        position=Position(lat=53.4, lon=18.2),
        identity_confidence=0.95,
        updated_at=NOW + timedelta(minutes=5),
        lineage=("r1", "r2", "r3"),
        report_count=3,
    )
    assert track_name(later) == track_name(track())
    # Another track of the same kind is told apart by its id.
    assert track_name(track(id="trk-0f00")) == "H ARMR 0F00"


def test_a_unit_is_called_by_its_own_callsign_else_its_subject() -> None:
    unit = track(id="sub-ANDROID-9f", subject="ANDROID-9f", identity=Identity.FRIEND)
    assert track_name(unit, "ALPHA 1") == "ALPHA 1"
    assert track_name(unit) == "ANDROID-9f"
    # A callsign of nothing but blanks or control characters is no name.
    assert track_name(unit, " \x00 ") == "ANDROID-9f"


@pytest.mark.parametrize(
    ("sidc", "kind"),
    [
        ("10031000001211000000", "INF"),
        ("10061500001202000000", "TANK"),
        ("10061500001201000000", "AFV"),
        ("10063000001202000000", "SEA"),
        ("10060100001101000000", "AIR"),
        ("10069900000000000000", "TRK"),
        ("garbage", "TRK"),
    ],
)
def test_the_kind_comes_from_the_symbol(sidc: str, kind: str) -> None:
    assert track_kind(sidc) == kind


def test_an_id_without_a_hex_ending_gets_a_digest_suffix() -> None:
    name = short_track_name(track(id="t42", identity=Identity.UNKNOWN))
    assert name.startswith("U ARMR ") and len(name.split()[-1]) == 4
    assert name == short_track_name(track(id="t42", identity=Identity.UNKNOWN))


def test_a_track_named_by_its_reports_is_called_so_before_its_subject() -> None:
    imported = track(subject="nvg:urn:guid:2608bd00", name="Link16:F101 - Fighter")
    assert track_name(imported) == "Link16:F101 - Fighter"
    # A unit's own callsign still comes first.
    assert track_name(imported, "ALPHA 1") == "ALPHA 1"

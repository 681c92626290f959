"""Tessera -> file -> Tessera: a picture exported with `tessera export` as NVG, KML and
KMZ, and imported with `tessera import` into a fresh server, gives back the same tracks
(identity, status, name, position within a metre, speed within 0.1 %, and how long each
holds) as tracks, not as point overlays; its lines and areas come back as overlays.
Every file exported is valid NVG 2.0.2 or KML 2.2."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from tessera.cli import main as tessera_main
from tessera.core.model import Track, TrackStatus
from tessera.core.overlays import OverlayKind
from tessera.store.base import TrackQuery
from tests.codecs.nvg_schema import assert_valid_nvg
from tests.kml_schema import valid_kml
from tests.support import Live, iso, live_server

EARTH_RADIUS_M: Final = 6_371_008.8
HOSTILE_ARMOUR: Final = "10061000001211000000"
FRIEND_ARMOUR: Final = "10031000001211000000"
LABEL: Final = {"classification": "UNCLASSIFIED"}
EVERY_STATUS: Final = ",".join(status.value for status in TrackStatus)
# One unit per status, each a headquarters' statement of where it is and how it stands.
UNITS: Final = [
    ("1 Coy", HOSTILE_ARMOUR, "hostile", TrackStatus.CONFIRMED, 53.12345678, 18.0123),
    ("2 Coy", HOSTILE_ARMOUR, "hostile", TrackStatus.COASTING, 53.2, 18.25),
    ("Recce", FRIEND_ARMOUR, "friend", TrackStatus.TENTATIVE, 52.95, 17.8765),
    ("3 Coy", HOSTILE_ARMOUR, "hostile", TrackStatus.DEAD, 53.4, 18.6),
    ("4 Coy", HOSTILE_ARMOUR, "hostile", TrackStatus.STALE, 53.45, 18.7),
]


def declarations(now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "source": {"id": "hq", "kind": "system"},
            "subject": f"unit-{n}",
            "observed_at": iso(now - timedelta(seconds=n + 1)),
            "valid_until": iso(now + timedelta(hours=2 + n)),
            "position": {"lat": lat, "lon": lon, "ce": 20.0},
            "velocity": {"course": 45.0 * n, "speed": 7.5 + n},
            "identity": identity,
            "sidc": sidc,
            "grading": "B2",
            "label": LABEL,
            "name": name,
            "status": status.value,
        }
        for n, (name, sidc, identity, status, lat, lon) in enumerate(UNITS)
    ]


OVERLAYS: Final = [
    {"name": "Phase line", "kind": "line", "coordinates": [[18.0, 53.0], [18.5, 53.1]]},
    {
        "name": "Objective",
        "kind": "area",
        "coordinates": [[18.1, 53.2], [18.3, 53.2], [18.3, 53.3], [18.1, 53.2]],
    },
]


def metres_apart(a: Track, b: Track) -> float:
    phi1, phi2 = math.radians(a.position.lat), math.radians(b.position.lat)
    dphi, dlam = phi2 - phi1, math.radians(b.position.lon - a.position.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(tessera_main, list(argv))


async def caught_up(live: Live) -> None:
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)


def tracks_of(live: Live) -> dict[str, Track]:
    return {t.name or t.id: t for t in live.tessera.store.tracks("COP", TrackQuery())[1]}


async def export_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Track], dict[str, Path]]:
    """The picture of the source server, and its exports of every status."""
    async with live_server(tmp_path / "source", tick_interval_s=3600.0) as source:
        monkeypatch.setenv("TESSERA_TOKEN", source.token)
        async with source.client() as client:
            posted = await client.post("/api/v1/reports", json=declarations(datetime.now(UTC)))
            assert posted.status_code == 202, posted.text
            for shape in OVERLAYS:
                drawn = await client.post("/api/v1/overlays", json={**shape, "label": LABEL})
                assert drawn.status_code == 201, drawn.text
        await caught_up(source)
        files = {}
        for kind in ("nvg", "kml", "kmz"):
            files[kind] = tmp_path / f"picture.{kind}"
            argv = ["export", "--to", source.base_url, "--picture", "COP", "--format", kind]
            assert await cli(*argv, "--status", EVERY_STATUS, "--out", str(files[kind])) == 0
            exported = files[kind].read_bytes()
            if kind == "nvg":
                assert_valid_nvg(exported)
            else:
                valid_kml(exported)
        return tracks_of(source), files


def test_a_picture_comes_back_the_same_through_nvg_kml_and_kmz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        original, files = await export_picture(tmp_path, monkeypatch)
        assert {t.status for t in original.values()} == set(TrackStatus), "every status held"
        for kind, path in files.items():
            async with live_server(tmp_path / f"fresh-{kind}", tick_interval_s=3600.0) as fresh:
                monkeypatch.setenv("TESSERA_TOKEN", fresh.token)
                assert await cli("import", str(path), "--to", fresh.base_url) == 0
                await caught_up(fresh)
                back = tracks_of(fresh)
                assert set(back) == set(original), kind
                for name, before in original.items():
                    after = back[name]
                    where = f"{kind}: {name}"
                    assert (after.identity, after.status) == (before.identity, before.status), where
                    assert after.sidc == before.sidc, where
                    assert metres_apart(after, before) < 1.0, where
                    assert before.velocity is not None and after.velocity is not None, where
                    assert after.velocity.speed == pytest.approx(before.velocity.speed, rel=1e-3)
                    assert after.velocity.course == pytest.approx(before.velocity.course, abs=0.1)
                    # Held as long as the source held it, not for the import's default.
                    assert after.valid_until == before.valid_until, where
                    assert after.updated_at == before.updated_at, where
                # The lines and areas, and only they, as overlays.
                _, overlays = fresh.tessera.store.overlays("COP", TrackQuery())
                kinds = sorted(overlay.kind for overlay in overlays)
                assert kinds == [OverlayKind.AREA, OverlayKind.LINE], kind

    asyncio.run(main())

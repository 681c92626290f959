"""Exports: a picture, tracks and overlays, as NVG, GeoJSON, KML or KMZ; only the caller's,
read back by the NVG reader and by GDAL, and on the audit trail."""

from __future__ import annotations

import asyncio
import io
import json
import re
import struct
import subprocess
import zipfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
from lxml import etree

from tessera.codecs.kml_write import KML_NS
from tessera.codecs.nvg_read import read_nvg
from tessera.core.labels import admits
from tessera.core.model import Label, Principal, Track
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tessera.exchange import export_command
from tessera.store.base import TrackQuery
from tessera.transports.web.export import FORMATS
from tessera.transports.web.openapi import openapi_document
from tessera.transports.web.routes import api_routes
from tests.codecs.nvg_schema import assert_valid_nvg
from tests.codecs.test_kml import need_ogrinfo
from tests.kml_schema import valid_kml
from tests.support import Live, live_server, report_doc, stored_id

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
            assert posted.status_code in (200, 202), posted.text
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
        partner = await live.grant(
            Principal(name="partner", communities=("UKR",), clearance="SECRET")
        )
        async with live.client(partner) as client:
            nvg = await client.get("/api/v1/export", params={"picture": "UKR", "format": "nvg"})
            assert nvg.status_code == 200
            assert_valid_nvg(nvg.content)
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
        assert [(e["principal"], e["target"], e["outcome"]) for e in exports] == [
            ("partner", "UKR", "ok"),
            # Refused, on the trail: the partner was told only that there is no such picture.
            ("partner", "NATO", "denied"),
        ]
        assert exports[0]["detail"]["format"] == "nvg"

    async def main() -> None:
        async with live_server(tmp_path, pictures=PICTURES) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


# -- KML, KMZ and the picture's overlays ----------------------------------------------------

K = "{" + KML_NS + "}"
NATO_ONLY = {"classification": "SECRET", "releasable_to": ["NATO"]}
SHARED = {"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
HQ = "10031002001211000000"  # a friendly headquarters: its anchor is its staff's foot
UNDRAWABLE = "10061000009999990000"  # well formed, but no symbol milsymbol knows
POINT_SIDC = "10032500001313000000"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def with_sidc(doc: dict[str, Any], sidc: str) -> dict[str, Any]:
    return {**doc, "sidc": sidc}


def shape(identifier: str, kind: OverlayKind, *points: Coordinate, **extra: Any) -> Overlay:
    return Overlay(
        id=identifier, name=identifier.title(), kind=kind, coordinates=points,
        label=Label("RESTRICTED", ("NATO", "UKR")), author="planner",
        updated_at=datetime(2026, 5, 4, 9, 30, tzinfo=UTC), **extra,
    )  # fmt: skip


SHARED_OVERLAYS = [
    shape("bridge", OverlayKind.POINT, (18.0, 54.0), sidc=POINT_SIDC),
    shape("route", OverlayKind.LINE, (18.0, 54.0), (18.1, 54.05), (18.2, 54.0)),
    shape("area", OverlayKind.AREA, (18.0, 54.0), (18.1, 54.0), (18.1, 54.1), (18.0, 54.0)),
    shape("exclusion", OverlayKind.CIRCLE, (18.3, 54.2), radius_m=2500.0),
    shape("corridor", OverlayKind.CORRIDOR, (17.0, 54.0), (17.5, 54.2), width_m=4000.0),
]


async def populate(live: Live) -> None:
    """Tracks in both pictures (some only in NATO's), and overlays: five shared, one not."""
    async with live.client() as admin:
        posted = await admin.post(
            "/api/v1/reports",
            json=[
                report_doc(report_id="n1", lat=53.0, label=NATO_ONLY, source="uav-n"),
                report_doc(report_id="s1", lat=54.0, label=SHARED, grading="C3"),
                with_sidc(report_doc(report_id="s2", lat=54.5, label=SHARED, source="uav-2",
                                     identity="friend"), HQ),
                with_sidc(report_doc(report_id="s3", lat=55.0, label=SHARED, source="uav-3"),
                          UNDRAWABLE),
            ],
        )  # fmt: skip
    assert posted.status_code == 202, posted.text
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
    secret = msgspec.structs.replace(
        shape("secret-area", OverlayKind.AREA, (19, 53), (19.1, 53), (19.1, 53.1), (19, 53)),
        label=Label("SECRET", ("NATO",)),
    )
    store, scheme = live.tessera.store, live.tessera.scheme
    for name, overlays in (("UKR", SHARED_OVERLAYS), ("NATO", [*SHARED_OVERLAYS, secret])):
        picture = live.tessera.pictures[name]
        assert all(admits(picture, overlay.label, scheme) for overlay in overlays)
        store.apply_overlays(name, store.seq(name) + 1, overlays, [])


def picture_content(live: Live, name: str) -> tuple[list[Track], list[Overlay]]:
    _, tracks = live.tessera.store.tracks(name, TrackQuery())
    _, overlays = live.tessera.store.overlays(name, TrackQuery())
    return tracks, overlays


async def partner_client(live: Live) -> httpx.AsyncClient:
    token = await live.grant(Principal(name="partner", communities=("UKR",), clearance="SECRET"))
    return live.client(token)


def run_live(tmp_path: Path, scenario: Callable[[Live], Awaitable[None]]) -> None:
    async def main() -> None:
        async with live_server(tmp_path, pictures=PICTURES) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


def test_a_kmz_holds_doc_kml_and_an_icon_per_sidc_with_described_placemarks(
    tmp_path: Path,
) -> None:
    async def scenario(live: Live) -> None:
        await populate(live)
        async with await partner_client(live) as client:
            answer = await client.get("/api/v1/export", params={"picture": "UKR", "format": "kmz"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/vnd.google-earth.kmz"
        assert answer.headers["content-disposition"] == 'attachment; filename="UKR.kmz"'
        tracks, overlays = picture_content(live, "UKR")
        sidcs = {track.sidc for track in tracks} | {POINT_SIDC}
        # Fusion draws each track with the identity it believes (one UAV report: assumed
        # friend, suspect), so the symbols are found by what else they say.
        (hq,) = [sidc for sidc in sidcs if sidc[7] == HQ[7]]
        assert len(tracks) == 3 and any(sidc[10:] == UNDRAWABLE[10:] for sidc in sidcs)
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            names = archive.namelist()
            assert names[0] == "doc.kml"
            valid_kml(answer.content)
            assert sorted(names[1:]) == sorted(f"icons/{sidc}.png" for sidc in sidcs)
            pngs = {name: archive.read(name) for name in names[1:]}
            root = etree.fromstring(archive.read("doc.kml"))
        for png in pngs.values():
            assert png.startswith(PNG_SIGNATURE)
            width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
            assert 8 <= width <= 200 and 8 <= height <= 200
        styles = {style.get("id"): style for style in root.iter(K + "Style")}
        hrefs = {style.findtext(f"{K}IconStyle/{K}Icon/{K}href") for style in styles.values()}
        assert hrefs == set(pngs)
        # The headquarters' icon is anchored at the foot of its staff, bottom left.
        hot_spot = styles[f"sidc-{hq}"].find(f"{K}IconStyle/{K}hotSpot")
        assert hot_spot is not None and hot_spot.get("xunits") == "fraction"
        assert float(hot_spot.get("x", "1")) < 0.1 and float(hot_spot.get("y", "1")) < 0.1
        track_folder, overlay_folder = root.iter(K + "Folder")
        placemarks = track_folder.findall(K + "Placemark")
        assert len(placemarks) == len(tracks)
        for placemark in placemarks:
            url = placemark.findtext(K + "styleUrl") or ""
            assert url[1:] in styles
            description = placemark.findtext(K + "description") or ""
            for field in ("identity: ", "grading: ", "last update: "):
                assert field in description, description
        shared = next(
            p for p in placemarks if "grading: C3" in (p.findtext(K + "description") or "")
        )
        (s1,) = [track for track in tracks if track.lineage == (stored_id(live, "s1"),)]
        description = shared.findtext(K + "description") or ""
        assert f"identity: {s1.identity.value}<br/>" in description
        assert f"last update: {s1.updated_at.isoformat().replace('+00:00', 'Z')}" in description
        geometry = {
            p.findtext(f"{K}ExtendedData/{K}Data[@name='id']/{K}value"): etree.QName(
                p[-1]
            ).localname
            for p in overlay_folder.findall(K + "Placemark")
        }
        assert geometry == {
            "bridge": "Point", "route": "LineString", "area": "Polygon",
            "exclusion": "Polygon", "corridor": "Polygon",
        }  # fmt: skip
        assert len(overlays) == 5

    run_live(tmp_path, scenario)


def exported_ids(kind: str, body: bytes) -> set[str]:
    """The ids of everything in an export, however its format names them."""
    if kind == "geojson":
        return {feature["id"] for feature in json.loads(body)["features"]}
    if kind == "nvg":
        return {element.get("uri", "") for element in etree.fromstring(body) if element.get("uri")}
    if kind in ("kml", "kmz"):
        body = valid_kml(body)
    root = etree.fromstring(body)
    return {
        value.text or ""
        for value in root.iterfind(f".//{K}Placemark/{K}ExtendedData/{K}Data[@name='id']/{K}value")
    }


def test_every_format_releases_exactly_what_the_picture_admits(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await populate(live)
        tracks, overlays = picture_content(live, "UKR")
        admitted = {track.id for track in tracks} | {overlay.id for overlay in overlays}
        nato_tracks, nato_overlays = picture_content(live, "NATO")
        assert {"secret-area"} < {overlay.id for overlay in nato_overlays}
        assert len(nato_tracks) > len(tracks)
        async with await partner_client(live) as client:
            for kind in ("nvg", "geojson", "kml", "kmz"):
                mine = await client.get("/api/v1/export", params={"picture": "UKR", "format": kind})
                assert mine.status_code == 200, kind
                if kind == "nvg":
                    assert_valid_nvg(mine.content)
                assert exported_ids(kind, mine.content) == admitted, kind
                hidden = await client.get(
                    "/api/v1/export", params={"picture": "NATO", "format": kind}
                )
                assert hidden.status_code == 404, kind
                assert hidden.json() == {"error": "no picture named 'NATO'"}
            for kind in ("shp", "KMZ", ""):
                bad = await client.get("/api/v1/export", params={"picture": "UKR", "format": kind})
                assert bad.status_code == 400, kind
                assert bad.json()["parameter"] == "format"
        async with live.client() as admin:
            everything = await admin.get(
                "/api/v1/export", params={"picture": "NATO", "format": "kml"}
            )
            events = (await admin.get("/api/v1/audit")).json()["events"]
        assert exported_ids("kml", everything.content) >= {"secret-area", "bridge"}
        exports = [e for e in events if e["action"] == "export"]
        refused = [e["target"] for e in exports if e["outcome"] == "denied"]
        assert refused == ["NATO"] * 4
        details = [e["detail"] for e in exports if e["outcome"] == "ok"]
        assert [d["format"] for d in details] == ["nvg", "geojson", "kml", "kmz", "kml"]
        assert details[0]["tracks"] == 3 and details[0]["overlays"] == 5
        assert details[-1]["overlays"] == 6

    run_live(tmp_path, scenario)


def layer_counts(path: str) -> dict[str, int]:
    """What GDAL's ogrinfo, an independent reader, finds: features per layer."""
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", path], capture_output=True, text=True, check=True
    )
    layers = re.findall(r"Layer name: (.+)\n(?:.*\n)*?Feature Count: (\d+)", result.stdout)
    return {name.strip(): int(count) for name, count in layers}


def test_ogrinfo_sees_the_picture_in_the_kml_kmz_and_geojson(tmp_path: Path) -> None:
    need_ogrinfo()
    files: dict[str, Path] = {}

    async def scenario(live: Live) -> None:
        await populate(live)
        async with await partner_client(live) as client:
            for kind in ("kml", "kmz", "geojson"):
                answer = await client.get(
                    "/api/v1/export", params={"picture": "UKR", "format": kind}
                )
                files[kind] = tmp_path / f"UKR.{kind}"
                files[kind].write_bytes(answer.content)
                if kind != "geojson":
                    valid_kml(answer.content)
        tracks, overlays = picture_content(live, "UKR")
        expected = {"Tracks": len(tracks), "Overlays": len(overlays)}
        assert expected == {"Tracks": 3, "Overlays": 5}
        assert layer_counts(str(files["kml"])) == expected
        # GDAL reads a KMZ itself (LIBKML) and, with any KML driver, through /vsizip/.
        assert layer_counts(str(files["kmz"])) == expected
        assert layer_counts(f"/vsizip/{files['kmz']}/doc.kml") == expected
        assert sum(layer_counts(str(files["geojson"])).values()) == 8

    run_live(tmp_path / "data", scenario)


def test_the_documented_formats_are_the_served_ones() -> None:
    operation = openapi_document(api_routes(), set())["paths"]["/api/v1/export"]["get"]
    (fmt,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert list(FORMATS) == list(export_command.FORMATS)
    # A time window (from, to) also exports as a GeoPackage.
    assert fmt["schema"]["enum"] == [*FORMATS, *export_command.WINDOW_ONLY_FORMATS]

"""Exports leave dead tracks out unless ``status`` asks for them, in every format; each
track carries its status and last update where the format can; a bad ``status`` is a 400
naming it; a missing symbol font is a loud 500, never icons without their letters."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from lxml import etree

from tessera.codecs import symbol_icons
from tessera.codecs.symbol_font import SymbolFont, SymbolFontError
from tessera.core.model import Track, TrackStatus
from tessera.exchange import export_command
from tessera.transports.web.export import FORMATS
from tessera.transports.web.openapi import openapi_document
from tessera.transports.web.routes import api_routes
from tests.kml_schema import valid_kml
from tests.support import Live
from tests.transports.test_export import (
    K,
    exported_ids,
    partner_client,
    picture_content,
    populate,
    run_live,
)


def mark(live: Live, picture: str, statuses: list[TrackStatus]) -> list[Track]:
    """The picture's tracks, sorted by id, put into the store with ``statuses`` as fusion
    would record them."""
    store = live.tessera.store
    tracks, _ = picture_content(live, picture)
    marked = [
        msgspec.structs.replace(track, status=status)
        for track, status in zip(sorted(tracks, key=lambda t: t.id), statuses, strict=True)
    ]
    store.apply(picture, store.seq(picture) + 1, marked, [])
    return marked


def test_every_format_leaves_dead_tracks_out_unless_status_names_them(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await populate(live)
        dead, coasting, confirmed = mark(
            live, "UKR", [TrackStatus.DEAD, TrackStatus.COASTING, TrackStatus.CONFIRMED]
        )
        _, overlays = picture_content(live, "UKR")
        overlay_ids = {overlay.id for overlay in overlays}
        wanted = {
            None: {coasting.id, confirmed.id},
            "dead": {dead.id},
            "confirmed, dead": {confirmed.id, dead.id},
            "tentative,confirmed,coasting,dead": {dead.id, coasting.id, confirmed.id},
        }
        async with await partner_client(live) as client:
            for kind in FORMATS:
                for status, track_ids in wanted.items():
                    params = {"picture": "UKR", "format": kind}
                    if status is not None:
                        params["status"] = status
                    answer = await client.get("/api/v1/export", params=params)
                    assert answer.status_code == 200, (kind, status, answer.text)
                    if kind in ("kml", "kmz"):
                        valid_kml(answer.content)
                    # Overlays have no status: every one is exported whatever was asked.
                    assert exported_ids(kind, answer.content) == track_ids | overlay_ids
                for bad in ("zombie", "", ",", "dead,zombie"):
                    params = {"picture": "UKR", "format": kind, "status": bad}
                    refused = await client.get("/api/v1/export", params=params)
                    assert refused.status_code == 400, (kind, bad)
                    assert refused.json()["parameter"] == "status"
                    assert "tentative, confirmed, coasting, stale, dead" in refused.json()["error"]
        async with live.client() as admin:
            events = (await admin.get("/api/v1/audit", params={"action": "export"})).json()
        details = [event["detail"] for event in events["events"]]
        assert details[0]["status"] == ["coasting", "confirmed", "stale", "tentative"]
        assert details[1]["status"] == ["dead"] and details[1]["tracks"] == 1

    run_live(tmp_path, scenario)


def test_geojson_and_kml_tracks_carry_their_status_and_last_update(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await populate(live)
        marked = mark(live, "UKR", [TrackStatus.DEAD, TrackStatus.COASTING, TrackStatus.TENTATIVE])
        expected = {track.id: track for track in marked}
        every = "tentative,confirmed,coasting,dead"
        async with await partner_client(live) as client:
            params = {"picture": "UKR", "status": every}
            geojson = await client.get("/api/v1/export", params={**params, "format": "geojson"})
            kmz = await client.get("/api/v1/export", params={**params, "format": "kmz"})
        features = [f for f in json.loads(geojson.content)["features"] if f["id"] in expected]
        assert len(features) == 3
        for feature in features:
            track = expected[feature["id"]]
            assert feature["properties"]["status"] == track.status.value
            assert feature["properties"]["updated_at"] == track.updated_at.isoformat().replace(
                "+00:00", "Z"
            )
        root = etree.fromstring(valid_kml(kmz.content))
        track_folder = next(root.iter(K + "Folder"))
        for placemark in track_folder.findall(K + "Placemark"):
            data = {d.get("name"): d.findtext(K + "value") for d in placemark.iter(K + "Data")}
            track = expected[data["id"] or ""]
            assert data["status"] == track.status.value
            when = placemark.findtext(f"{K}TimeStamp/{K}when")
            assert when == track.updated_at.isoformat().replace("+00:00", "Z")

    run_live(tmp_path, scenario)


def test_without_the_symbol_font_kml_exports_fail_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> SymbolFont:
        raise SymbolFontError("no DejaVu Sans font: install Debian's fonts-dejavu-core")

    monkeypatch.setattr(symbol_icons, "find_symbol_font", missing)

    async def scenario(live: Live) -> None:
        await populate(live)
        async with await partner_client(live) as client:
            for kind in ("kml", "kmz"):
                answer = await client.get(
                    "/api/v1/export", params={"picture": "UKR", "format": kind}
                )
                assert answer.status_code == 500
                assert "fonts-dejavu-core" in answer.json()["error"]
            # The other formats draw no symbols.
            geojson = await client.get(
                "/api/v1/export", params={"picture": "UKR", "format": "geojson"}
            )
            assert geojson.status_code == 200

    run_live(tmp_path, scenario)


def test_the_command_knows_the_statuses_the_server_does() -> None:
    assert list(export_command.STATUSES) == [status.value for status in TrackStatus]
    operation = openapi_document(api_routes(), set())["paths"]["/api/v1/export"]["get"]
    assert "status" in {parameter["name"] for parameter in operation["parameters"]}

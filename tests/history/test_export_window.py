"""After-action export: a time window of a picture as KML (a ``gx:Track`` and ``TimeSpan``
per track) and as a GeoPackage (time fields), each read back by GDAL's ``ogrinfo`` with
its times inside the window and every track the picture showed in it."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from tessera.cli import main
from tests.codecs.test_kml import need_ogrinfo
from tests.history.recording import LiveRecording, at_param, post_over_time
from tests.support import live_server

GX = "{http://www.google.com/kml/ext/2.2}"
# ogrinfo prints DateTime fields as 2026/12/04 09:30:00.123+00
_GDAL_TIME = re.compile(r"= (\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?\+00")


def ogrinfo(path: Path, *layer: str) -> str:
    return subprocess.run(
        ["ogrinfo", "-ro", "-al", str(path), *layer],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def times_in(text: str, field: str) -> list[datetime]:
    found = []
    for line in text.splitlines():
        if line.strip().startswith(f"{field} (DateTime)") and (match := _GDAL_TIME.search(line)):
            year, month, day, hour, minute, second, fraction = match.groups()
            micro = int((fraction or "0").ljust(6, "0")[:6])
            found.append(
                datetime(
                    int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                    tzinfo=UTC,
                )
            )  # fmt: skip
    return found


def test_a_window_exports_as_kml_and_geopackage_with_its_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_ogrinfo()
    monkeypatch.delenv("TESSERA_TOKEN", raising=False)
    kml, gpkg, token_file = tmp_path / "window.kml", tmp_path / "window.gpkg", tmp_path / "t"

    async def scenario() -> tuple[datetime, datetime, set[str]]:
        async with live_server(tmp_path / "data", history_snapshot_interval_s=0.3) as live:
            recording = LiveRecording(live, ["COP"])
            await post_over_time(live, batches=12, size=20, seed=4)
            start, end = recording.times[2], recording.times[-3]
            shown = {
                feature["id"]
                for moment, pictures in zip(recording.times, recording.pictures, strict=True)
                if start <= moment <= end
                for feature in pictures["COP"]
            } | {feature["id"] for feature in recording.at(start, "COP")}
            token_file.write_text(live.token)
            for kind, out in (("kml", kml), ("gpkg", gpkg)):
                code = await asyncio.to_thread(
                    main,
                    [
                        "export", "--server", live.base_url, "--picture", "COP",
                        "--from", at_param(start), "--to", at_param(end),
                        "--format", kind, "--token-file", str(token_file), "-o", str(out),
                    ],
                )  # fmt: skip
                assert code == 0
            return start, end, shown

    start, end, shown = asyncio.run(scenario())
    # Times are written to the millisecond (GeoPackage's DATETIME).
    low, high = start - timedelta(milliseconds=1), end + timedelta(milliseconds=1)
    # The KML: one placemark per track, a gx:Track with as many times as positions.
    root = etree.fromstring(kml.read_bytes())
    placemarks = root.iter("{http://www.opengis.net/kml/2.2}Placemark")
    ids = set()
    for placemark in placemarks:
        track = placemark.find(f"{GX}Track")
        assert track is not None
        whens = track.findall("{http://www.opengis.net/kml/2.2}when")
        assert len(whens) == len(track.findall(f"{GX}coord")) >= 1
        ids |= {
            data.findtext("{http://www.opengis.net/kml/2.2}value")
            for data in placemark.iter("{http://www.opengis.net/kml/2.2}Data")
            if data.get("name") == "id"
        }
    assert ids == shown
    kml_read = ogrinfo(kml)
    begins, ends = times_in(kml_read, "begin"), times_in(kml_read, "end")
    assert len(begins) == len(ends) == len(shown)
    assert all(low <= begin <= finish <= high for begin, finish in zip(begins, ends, strict=True))
    # The GeoPackage: positions with a time each, paths with their first and last.
    points = ogrinfo(gpkg, "track_points")
    point_times = times_in(points, "time")
    assert len(point_times) >= len(shown)
    assert all(low <= moment <= high for moment in point_times)
    assert "Geometry: Point" in points
    paths = ogrinfo(gpkg, "tracks")
    assert len(times_in(paths, "begin")) == len(shown) == len(times_in(paths, "end"))
    assert "Geometry: Line String" in paths


def test_a_window_is_refused_clearly(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path) as live, live.client() as client:
            now = datetime.now(UTC)
            day_ago, now_text = at_param(now - timedelta(1)), at_param(now)
            for params, parameter in (
                ({"from": day_ago, "format": "kml"}, "to"),
                ({"from": "then", "to": now_text, "format": "kml"}, "from"),
                ({"from": now_text, "to": day_ago, "format": "kml"}, "to"),
                ({"from": day_ago, "to": now_text, "format": "nvg"}, "format"),
            ):
                answer = await client.get("/api/v1/export", params=params)
                assert answer.status_code == 400, params
                assert answer.json()["parameter"] == parameter

    asyncio.run(scenario())

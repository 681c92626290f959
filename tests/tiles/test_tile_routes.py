"""``/tiles``: the operator's PMTiles and MBTiles basemaps served offline, to those signed
in, with TileJSON, a rewritten style, the right media types and encodings, and clear
errors for bad files and settings."""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.app import build
from tessera.settings import load_settings
from tessera.tiles.base import TileArchiveError
from tessera.tiles.catalog import open_reader
from tests.support import Live, live_server
from tests.tiles.archives import (
    solid_png,
    write_raster_mbtiles,
    write_style,
    write_vector_pmtiles,
)

RED = (255, 0, 0)


def basemap_files(folder: Path) -> list[dict[str, Any]]:
    styles = folder / "style"
    (styles / "fonts" / "Sans").mkdir(parents=True)
    (styles / "fonts" / "Sans" / "0-255.pbf").write_bytes(b"glyphs")
    raster = write_raster_mbtiles(folder / "raster.mbtiles")
    # One tile of its own, to see rows numbered from the south read as XYZ from the north.
    with closing(sqlite3.connect(raster)) as db, db:
        db.execute(
            "UPDATE tiles SET tile_data = ? WHERE zoom_level = 1 AND tile_column = 0 "
            "AND tile_row = 1",
            (solid_png(RED),),
        )
    return [
        {
            "name": "land",
            "path": str(write_vector_pmtiles(folder / "land.pmtiles")),
            "kind": "vector",
            "style": str(write_style(styles / "style.json")),
        },
        {"name": "imagery", "path": str(raster), "kind": "raster", "title": "Imagery"},
    ]


def run_live(tmp_path: Path, scenario: Callable[[Live], Awaitable[None]]) -> None:
    basemaps = basemap_files(tmp_path / "maps")

    async def main() -> None:
        async with live_server(tmp_path / "data", basemaps=basemaps) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


def test_tiles_need_a_token(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as anonymous:
            for path in ("/tiles", "/tiles/land.json", "/tiles/land/0/0/0", "/tiles/nothing"):
                assert (await anonymous.get(path)).status_code == 401, path

    run_live(tmp_path, scenario)


def test_the_catalogue_and_tilejson(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            listed = (await client.get("/tiles")).json()["basemaps"]
            assert [(b["name"], b["kind"], b["title"]) for b in listed] == [
                ("land", "vector", "Test land"),
                ("imagery", "raster", "Imagery"),
            ]
            assert listed[0]["style"] == f"{live.base_url}/tiles/land/style.json"
            assert listed[1]["style"] is None
            tilejson = (await client.get(listed[0]["tilejson"])).json()
            assert tilejson["tiles"] == [f"{live.base_url}/tiles/land/{{z}}/{{x}}/{{y}}"]
            assert (tilejson["minzoom"], tilejson["maxzoom"]) == (0, 3)
            assert tilejson["vector_layers"][0]["id"] == "land"
            assert tilejson["attribution"] == "Test tiles"
            assert tilejson["center"] == [18.0, 53.0, 2]

    run_live(tmp_path, scenario)


def test_the_style_points_at_this_server(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            style = (await client.get("/tiles/land/style.json")).json()
            assert style["sources"]["land"] == {
                "type": "vector",
                "url": f"{live.base_url}/tiles/land.json",
            }
            assert style["glyphs"] == (
                f"{live.base_url}/tiles/land/assets/fonts/{{fontstack}}/{{range}}.pbf"
            )
            glyphs = await client.get("/tiles/land/assets/fonts/Sans/0-255.pbf")
            assert glyphs.status_code == 200 and glyphs.content == b"glyphs"
            assert glyphs.headers["content-type"] == "application/x-protobuf"
            # Nothing outside the style's folder.
            for path in ("/tiles/land/assets/../land.pmtiles", "/tiles/land/assets/%2e%2e/x"):
                assert (await client.get(path)).status_code == 404, path
            assert (await client.get("/tiles/imagery/style.json")).status_code == 404

    run_live(tmp_path, scenario)


def test_vector_tiles_come_gzipped_as_stored(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        reader = open_reader(tmp_path / "maps" / "land.pmtiles")
        try:
            stored = reader.tile(2, 1, 1)
        finally:
            reader.close()
        assert stored is not None
        async with live.client() as client:
            answer = await client.get("/tiles/land/2/1/1")
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/vnd.mapbox-vector-tile"
            assert answer.headers["content-encoding"] == "gzip"
            assert answer.headers["cache-control"] == "private, max-age=3600"
            assert answer.content == gzip.decompress(stored)
            # A client that takes no gzip gets the tile plain.
            plain = await client.get("/tiles/land/2/1/1", headers={"accept-encoding": "identity"})
            assert "content-encoding" not in plain.headers
            assert plain.content == gzip.decompress(stored)
            # Past the archive's zooms: no tile, and no error for the map to report.
            assert (await client.get("/tiles/land/5/0/0")).status_code == 204

    run_live(tmp_path, scenario)


def test_raster_tiles_from_mbtiles(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            answer = await client.get("/tiles/imagery/1/0/0")
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "image/png"
            assert "content-encoding" not in answer.headers
            assert answer.content == solid_png(RED)
            assert (await client.get("/tiles/imagery/1/0/1")).content != solid_png(RED)

    run_live(tmp_path, scenario)


def test_bad_requests_are_answered_clearly(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            missing = await client.get("/tiles/nothing/0/0/0")
            assert missing.status_code == 404
            assert missing.json()["error"] == "no basemap named 'nothing'"
            assert (await client.get("/tiles/nothing.json")).status_code == 404
            outside = await client.get("/tiles/land/1/2/0")
            assert outside.status_code == 400
            assert outside.json()["error"] == "no tile 1/2/0: x and y must be 0-1 at zoom 1"
            assert (await client.get("/tiles/land/31/0/0")).status_code == 400

    run_live(tmp_path, scenario)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "no spaces"}, "a name is letters, digits"),
        ({"name": "default"}, "the built-in basemap's"),
        ({"path": "land.geojson"}, "path must end in .pmtiles or .mbtiles"),
        ({"kind": "raster", "style": "style.json"}, "a style is for vector basemaps"),
        ({"kind": "satellite"}, "Invalid enum value 'satellite'"),
        ({"colour": "red"}, "unknown field `colour`"),
    ],
)
def test_bad_settings_are_refused(change: dict[str, Any], message: str) -> None:
    basemap = {"name": "land", "path": "land.pmtiles", "kind": "vector", **change}
    with pytest.raises(ValueError, match=message):
        load_settings(basemaps=[basemap])


def test_two_basemaps_may_not_share_a_name() -> None:
    basemap = {"name": "land", "path": "land.pmtiles", "kind": "vector"}
    with pytest.raises(ValueError, match="names must be distinct"):
        load_settings(basemaps=[basemap, basemap])


def bad_file(folder: Path, case: str) -> tuple[dict[str, Any], str]:
    land = write_vector_pmtiles(folder / "land.pmtiles")
    if case == "missing":
        return {"path": str(folder / "gone.pmtiles")}, "cannot open: No such file"
    if case == "not-pmtiles":
        (folder / "text.pmtiles").write_text("hello")
        return {"path": str(folder / "text.pmtiles")}, "not a PMTiles archive"
    if case == "not-mbtiles":
        (folder / "text.mbtiles").write_bytes(b"x" * 200)
        return {"path": str(folder / "text.mbtiles")}, "not an MBTiles archive"
    if case == "wrong-kind":
        return {"path": str(land), "kind": "raster"}, "holds vector tiles \\(pbf\\)"
    if case == "bad-style":
        (folder / "style.json").write_text('{"version": 7}')
        return {"path": str(land), "style": str(folder / "style.json")}, "not a MapLibre style"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case", ["missing", "not-pmtiles", "not-mbtiles", "wrong-kind", "bad-style"]
)
def test_bad_files_stop_the_start_naming_the_basemap(tmp_path: Path, case: str) -> None:
    change, message = bad_file(tmp_path, case)
    basemap = {"name": "land", "kind": "vector", **change}
    settings = load_settings(data_dir=tmp_path / "data", basemaps=[basemap])
    with pytest.raises(TileArchiveError, match=f"basemap 'land': .*{message}"):
        build(settings)

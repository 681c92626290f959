"""Tile archives the tests build: a vector PMTiles (written by the pmtiles library's own
writer) whose every tile is one square polygon, and a raster MBTiles of solid PNG tiles."""

from __future__ import annotations

import gzip
import itertools
import json
import sqlite3
import struct
import zlib
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write

EXTENT = 4096
LAYER = "land"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 31)


def square_tile(feature_id: int = 1, kind: str = "wood") -> bytes:
    """A Mapbox Vector Tile (2.1) with one layer holding one polygon covering the tile,
    tagged ``kind``."""
    corners = [(0, 0), (EXTENT, 0), (EXTENT, EXTENT), (0, EXTENT)]
    geometry = [1 | 1 << 3, _zigzag(corners[0][0]), _zigzag(corners[0][1])]
    geometry.append(2 | 3 << 3)
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        geometry += [_zigzag(x1 - x0), _zigzag(y1 - y0)]
    geometry.append(7 | 1 << 3)
    packed = b"".join(_varint(v) for v in geometry)
    feature = (
        _varint(1 << 3)
        + _varint(feature_id)
        + _field(2, _varint(0) + _varint(0))  # tags: key 0 = value 0
        + _varint(3 << 3)
        + _varint(3)  # type: polygon
        + _field(4, packed)
    )
    layer = (
        _varint(15 << 3)
        + _varint(2)  # version
        + _field(1, LAYER.encode())
        + _field(2, feature)
        + _field(3, b"kind")
        + _field(4, _field(1, kind.encode()))
        + _varint(5 << 3)
        + _varint(EXTENT)
    )
    return _field(3, layer)


def solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def _addresses(max_zoom: int) -> Iterator[tuple[int, int, int]]:
    for z in range(max_zoom + 1):
        for x in range(1 << z):
            for y in range(1 << z):
                yield z, x, y


def write_vector_pmtiles(path: Path, max_zoom: int = 3) -> Path:
    """Every tile from zoom 0 to ``max_zoom``: one gzipped square, its feature id the
    tile's id (the writer would store equal tiles as one run, and then take the archive's
    zooms from the run's first tile only)."""
    ids = sorted(zxy_to_tileid(z, x, y) for z, x, y in _addresses(max_zoom))
    with write(str(path)) as writer:
        for tile_id in ids:
            writer.write_tile(tile_id, gzip.compress(square_tile(tile_id + 1), mtime=0))
        header: dict[str, Any] = {
            "tile_type": TileType.MVT,
            "tile_compression": Compression.GZIP,
            "min_lon_e7": -180 * 10_000_000,
            "min_lat_e7": -85 * 10_000_000,
            "max_lon_e7": 180 * 10_000_000,
            "max_lat_e7": 85 * 10_000_000,
            "center_zoom": 2,
            "center_lon_e7": 18 * 10_000_000,
            "center_lat_e7": 53 * 10_000_000,
        }
        metadata = {
            "name": "Test land",
            "attribution": "Test tiles",
            "vector_layers": [{"id": LAYER, "fields": {"kind": "String"}}],
        }
        writer.finalize(header, metadata)
    return path


def write_style(path: Path, colour: str = "#ff00ff") -> Path:
    """A MapLibre style drawing the vector archive's squares in ``colour``."""
    style = {
        "version": 8,
        "name": "Test style",
        "glyphs": "fonts/{fontstack}/{range}.pbf",
        "sources": {"land": {"type": "vector", "url": "pmtiles://elsewhere.pmtiles"}},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#222"}},
            {
                "id": "land",
                "type": "fill",
                "source": "land",
                "source-layer": LAYER,
                "paint": {"fill-color": colour},
            },
        ],
    }
    path.write_text(json.dumps(style))
    return path


def write_raster_mbtiles(
    path: Path, rgb: tuple[int, int, int] = (0, 160, 0), max_zoom: int = 2
) -> Path:
    tile = solid_png(rgb)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        db.executemany(
            "INSERT INTO metadata VALUES (?, ?)",
            [
                ("name", "Test raster"),
                ("format", "png"),
                ("minzoom", "0"),
                ("maxzoom", str(max_zoom)),
                ("bounds", "-180,-85,180,85"),
                ("attribution", "Raster tests"),
            ],
        )
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (1 << z) - 1 - y, tile) for z, x, y in _addresses(max_zoom)],
        )
    return path

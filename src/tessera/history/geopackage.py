"""A picture's time window as an OGC GeoPackage (1.3) for QGIS's temporal controller and
GDAL: ``track_points`` holds each track's position at each time (a ``time`` field), and
``tracks`` each track's path as a line with its ``begin`` and ``end``. Written with the
standard library's SQLite (a GeoPackage is an SQLite file of a set layout): the standard
tables, WGS 84, and geometries in GeoPackage binary (a small header, then WKB)."""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from tessera.history.kml_window import iso
from tessera.history.window import TrackPath

APPLICATION_ID: Final = 0x47504B47  # "GPKG"
USER_VERSION: Final = 10300  # GeoPackage 1.3.0
WGS84: Final = 4326
WGS84_WKT: Final = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,'
    'AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]'
)
_CORE: Final = (
    """CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
    organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
    definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,
    data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
    last_change DATETIME NOT NULL, min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
    srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
    geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
    m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name))""",
)
_SRS: Final = (
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", None),
    ("WGS 84 geodetic", WGS84, "EPSG", WGS84, WGS84_WKT, "longitude/latitude in degrees"),
)
_FIELDS: Final = (
    "track_id TEXT NOT NULL, name TEXT, identity TEXT, sidc TEXT, status TEXT, "
    "classification TEXT, releasable_to TEXT"
)


def write_geopackage(
    target: Path, paths: Sequence[TrackPath], *, picture: str, written_at: datetime
) -> None:
    """Write the window into a new file ``target`` (which must not exist)."""
    conn = sqlite3.connect(target)
    try:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {USER_VERSION}")
        for statement in _CORE:
            conn.execute(statement)
        conn.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", _SRS)
        conn.execute(
            "CREATE TABLE track_points (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom POINT, "
            f"time DATETIME NOT NULL, {_FIELDS})"
        )
        conn.execute(
            "CREATE TABLE tracks (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom LINESTRING, "
            f"begin DATETIME NOT NULL, end DATETIME NOT NULL, points INTEGER, {_FIELDS})"
        )
        points, lines = [], []
        for path in paths:
            fields = _fields(path)
            for point in path.points:
                points.append((_point(point.lon, point.lat), _gpkg_time(point.at), *fields))
            coordinates = [(point.lon, point.lat) for point in path.points]
            if len(coordinates) == 1:
                coordinates *= 2  # a line needs two points: a track seen once stays put
            lines.append(
                (
                    _line(coordinates),
                    _gpkg_time(path.begin),
                    _gpkg_time(path.end),
                    len(path.points),
                    *fields,
                )
            )
        conn.executemany(
            "INSERT INTO track_points (geom, time, track_id, name, identity, sidc, status, "
            "classification, releasable_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            points,
        )
        conn.executemany(
            "INSERT INTO tracks (geom, begin, end, points, track_id, name, identity, sidc, "
            "status, classification, releasable_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            lines,
        )
        xs = [point.lon for path in paths for point in path.points] or [0.0]
        ys = [point.lat for path in paths for point in path.points] or [0.0]
        bounds = (min(xs), min(ys), max(xs), max(ys))
        for table, kind, what in (
            ("track_points", "POINT", "positions at each time"),
            ("tracks", "LINESTRING", "paths with their first and last time"),
        ):
            conn.execute(
                "INSERT INTO gpkg_contents VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?, ?)",
                (table, table, f"{picture}: track {what}", _gpkg_time(written_at), *bounds, WGS84),
            )
            conn.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
                (table, kind, WGS84),
            )
        conn.commit()
    finally:
        conn.close()


def _fields(path: TrackPath) -> tuple[str | None, ...]:
    track = path.track
    return (
        track.id,
        track.name,
        track.identity.value,
        track.sidc,
        track.status.value,
        track.label.classification,
        " ".join(track.label.releasable_to) or None,
    )


def _gpkg_time(moment: datetime) -> str:
    # GeoPackage's DATETIME: ISO 8601 in UTC with a Z, to the millisecond.
    return iso(moment.replace(microsecond=moment.microsecond // 1000 * 1000)).replace(".000Z", "Z")


def _header(envelope: tuple[float, float, float, float] | None) -> bytes:
    # "GP", version 0, flags: little-endian, envelope [minx, maxx, miny, maxy] or none.
    flags = 0b0000_0011 if envelope is not None else 0b0000_0001
    head = b"GP" + bytes((0, flags)) + struct.pack("<i", WGS84)
    return head + (struct.pack("<4d", *envelope) if envelope is not None else b"")


def _point(lon: float, lat: float) -> bytes:
    return _header(None) + struct.pack("<BIdd", 1, 1, lon, lat)


def _line(coordinates: list[tuple[float, float]]) -> bytes:
    xs = [x for x, _ in coordinates]
    ys = [y for _, y in coordinates]
    wkb = struct.pack("<BII", 1, 2, len(coordinates))
    wkb += b"".join(struct.pack("<dd", x, y) for x, y in coordinates)
    return _header((min(xs), max(xs), min(ys), max(ys))) + wkb

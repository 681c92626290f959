"""MBTiles (1.3) archives: an SQLite file, opened read-only.

MBTiles number rows from the south (TMS); requests come in XYZ, numbered from the north.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from tessera.tiles.base import (
    TILE_FORMATS,
    WORLD,
    TileArchiveError,
    TileInfo,
    TileReader,
    stored_encoding,
)


class MBTilesReader(TileReader):
    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise TileArchiveError(f"{path}: no such file")
        try:
            self._db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise TileArchiveError(f"{path}: cannot open: {exc}") from None
        self._lock = threading.Lock()
        try:
            self.info = self._read_info(path)
        except BaseException:
            self._db.close()
            raise

    def _read_info(self, path: Path) -> TileInfo:
        try:
            rows = self._db.execute("SELECT name, value FROM metadata").fetchall()
            zooms = self._db.execute(
                "SELECT min(zoom_level), max(zoom_level) FROM tiles"
            ).fetchone()
            sample = self._db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            raise TileArchiveError(f"{path}: not an MBTiles archive: {exc}") from None
        metadata = {str(name): str(value) for name, value in rows}
        tile_format = metadata.get("format", "").lower()
        if tile_format not in TILE_FORMATS:
            known = ", ".join(sorted(TILE_FORMATS))
            raise TileArchiveError(f"{path}: metadata format {tile_format!r} is not one of {known}")
        if zooms is None or zooms[0] is None:
            raise TileArchiveError(f"{path}: the archive holds no tile")
        try:
            min_zoom = int(metadata.get("minzoom", zooms[0]))
            max_zoom = int(metadata.get("maxzoom", zooms[1]))
            bounds = _floats(metadata.get("bounds"), 4) or WORLD
            center = _floats(metadata.get("center"), 3)
            extra = json.loads(metadata["json"]) if "json" in metadata else {}
        except ValueError as exc:
            raise TileArchiveError(f"{path}: unreadable MBTiles metadata: {exc}") from None
        encoding = stored_encoding(bytes(sample[0])) if sample and sample[0] else None
        return TileInfo(
            format=tile_format,
            min_zoom=min_zoom,
            max_zoom=max_zoom,
            bounds=(bounds[0], bounds[1], bounds[2], bounds[3]),
            center=None if center is None else (center[0], center[1], center[2]),
            encoding=encoding,
            name=metadata.get("name", ""),
            attribution=metadata.get("attribution", ""),
            vector_layers=list(extra.get("vector_layers", [])) if isinstance(extra, dict) else [],
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        row = (1 << z) - 1 - y
        with self._lock:
            found = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?",
                (z, x, row),
            ).fetchone()
        return None if found is None else bytes(found[0])

    def close(self) -> None:
        self._db.close()


def _floats(text: str | None, count: int) -> tuple[float, ...] | None:
    if text is None:
        return None
    values = tuple(float(part) for part in text.split(","))
    if len(values) != count:
        raise ValueError(f"{text!r} is not {count} numbers")
    return values

"""The tile reader family: one archive of map tiles, opened once, read by (z, x, y).

A reader says what its tiles are (vector or raster, their media type and the encoding they
are stored with) and what TileJSON needs (zooms, bounds, centre, vector layers). Tiles are
returned as stored: a gzipped vector tile stays gzipped, and the HTTP route says so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Final, Literal

TileKind = Literal["vector", "raster"]

# Tile format -> (kind, media type).
TILE_FORMATS: Final[dict[str, tuple[TileKind, str]]] = {
    "pbf": ("vector", "application/vnd.mapbox-vector-tile"),
    "mvt": ("vector", "application/vnd.mapbox-vector-tile"),
    "png": ("raster", "image/png"),
    "jpg": ("raster", "image/jpeg"),
    "jpeg": ("raster", "image/jpeg"),
    "webp": ("raster", "image/webp"),
    "avif": ("raster", "image/avif"),
}
MAX_ZOOM: Final = 30
WORLD: Final = (-180.0, -85.051129, 180.0, 85.051129)


class TileArchiveError(ValueError):
    """A tile archive that cannot be served (missing, unreadable, not what it claims)."""


@dataclass(frozen=True)
class TileInfo:
    """What a client needs to know of an archive (TileJSON's fields)."""

    format: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] = WORLD
    center: tuple[float, float, float] | None = None
    # Content-Encoding of the stored tiles ("gzip"), or None when stored plain.
    encoding: str | None = None
    name: str = ""
    attribution: str = ""
    vector_layers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> TileKind:
        return TILE_FORMATS[self.format][0]

    @property
    def media_type(self) -> str:
        return TILE_FORMATS[self.format][1]


class TileReader(ABC):
    """One open tile archive. Safe to call from several threads at once."""

    info: TileInfo

    @abstractmethod
    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at (z, x, y) in XYZ numbering (y down from the north), as stored;
        None when the archive holds none there."""

    @abstractmethod
    def close(self) -> None: ...


def check_tile_address(z: int, x: int, y: int) -> str | None:
    """Why (z, x, y) is no tile address, or None when it is one."""
    if not 0 <= z <= MAX_ZOOM:
        return f"zoom must be 0-{MAX_ZOOM}"
    side = 1 << z
    if not (0 <= x < side and 0 <= y < side):
        return f"x and y must be 0-{side - 1} at zoom {z}"
    return None


def stored_encoding(data: bytes) -> str | None:
    """gzip when ``data`` is gzipped (how MBTiles often keep vector tiles), else None."""
    return "gzip" if data[:2] == b"\x1f\x8b" else None

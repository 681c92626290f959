"""PMTiles (version 3) archives, read with the format's own library (``pmtiles``).

The file is read by offset (``os.pread``: no shared file position, so threads may read at
once); directories, once decompressed, are kept in a small cache.
"""

from __future__ import annotations

import gzip
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from pmtiles.tile import (
    Compression,
    Entry,
    HeaderDict,
    MagicNumberNotFound,
    SpecVersionUnsupported,
    TileType,
    deserialize_directory,
    deserialize_header,
    find_tile,
    zxy_to_tileid,
)

from tessera.tiles.base import TileArchiveError, TileInfo, TileReader

HEADER_BYTES: Final = 127
# A PMTiles directory tree is at most this deep (root and leaves).
MAX_DEPTH: Final = 4
FORMATS: Final = {
    TileType.MVT: "pbf",
    TileType.PNG: "png",
    TileType.JPEG: "jpg",
    TileType.WEBP: "webp",
    TileType.AVIF: "avif",
}
ENCODINGS: Final = {Compression.NONE: None, Compression.GZIP: "gzip"}


class PMTilesReader(TileReader):
    def __init__(self, path: Path) -> None:
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise TileArchiveError(f"{path}: cannot open: {exc.strerror}") from None
        try:
            self._header = self._read_header(path)
            self.info = self._read_info(path)
        except BaseException:
            os.close(self._fd)
            raise
        self._directory = lru_cache(maxsize=64)(self._load_directory)

    def _bytes(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def _read_header(self, path: Path) -> HeaderDict:
        try:
            return deserialize_header(self._bytes(0, HEADER_BYTES))
        except (MagicNumberNotFound, UnicodeDecodeError):
            raise TileArchiveError(f"{path}: not a PMTiles archive") from None
        except SpecVersionUnsupported:
            raise TileArchiveError(f"{path}: only PMTiles version 3 is read") from None
        except (ValueError, IndexError) as exc:
            raise TileArchiveError(f"{path}: unreadable PMTiles header: {exc}") from None

    def _read_info(self, path: Path) -> TileInfo:
        header = self._header
        tile_format = FORMATS.get(header["tile_type"])
        if tile_format is None:
            raise TileArchiveError(f"{path}: tile type {header['tile_type'].name} is not served")
        if header["tile_compression"] not in ENCODINGS:
            raise TileArchiveError(
                f"{path}: tiles compressed with {header['tile_compression'].name} are not "
                "served (write the archive with gzip or no compression)"
            )
        metadata = self._metadata(path)

        def degrees(key: str) -> float:
            value: int = header[key]  # type: ignore[literal-required]
            return value / 1e7

        bounds = tuple(degrees(f"{k}_e7") for k in ("min_lon", "min_lat", "max_lon", "max_lat"))
        return TileInfo(
            format=tile_format,
            min_zoom=header["min_zoom"],
            max_zoom=header["max_zoom"],
            bounds=(bounds[0], bounds[1], bounds[2], bounds[3]),
            center=(degrees("center_lon_e7"), degrees("center_lat_e7"), header["center_zoom"]),
            encoding=ENCODINGS[header["tile_compression"]],
            name=str(metadata.get("name", "")),
            attribution=str(metadata.get("attribution", "")),
            vector_layers=list(metadata.get("vector_layers", [])),
        )

    def _metadata(self, path: Path) -> dict[str, Any]:
        header = self._header
        raw = self._bytes(header["metadata_offset"], header["metadata_length"])
        try:
            if header["internal_compression"] is Compression.GZIP:
                raw = gzip.decompress(raw)
            metadata = json.loads(raw) if raw else {}
        except (OSError, EOFError, ValueError) as exc:
            raise TileArchiveError(f"{path}: unreadable PMTiles metadata: {exc}") from None
        if not isinstance(metadata, dict):
            raise TileArchiveError(f"{path}: PMTiles metadata is not a JSON object")
        return metadata

    def _load_directory(self, offset: int, length: int) -> list[Entry]:
        entries: list[Entry] = deserialize_directory(self._bytes(offset, length))
        return entries

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        header = self._header
        if not header["min_zoom"] <= z <= header["max_zoom"]:
            return None
        tile_id = zxy_to_tileid(z, x, y)
        offset, length = header["root_offset"], header["root_length"]
        for _ in range(MAX_DEPTH):
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length > 0:
                return self._bytes(header["tile_data_offset"] + entry.offset, entry.length)
            offset, length = header["leaf_directory_offset"] + entry.offset, entry.length
        return None

    def close(self) -> None:
        os.close(self._fd)

"""``[[basemaps]]`` in the settings: the tile archives an operator brings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import msgspec

from tessera.tiles.base import TileKind

NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
ARCHIVE_SUFFIXES: Final = (".pmtiles", ".mbtiles")
# The name of the basemap that needs nothing (built into the map client).
DEFAULT_BASEMAP: Final = "default"


class BasemapSetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One basemap: a PMTiles or MBTiles archive (by its suffix), vector or raster; a vector
    one may name a MapLibre style (JSON) whose sources are served from the archive, and
    whose glyphs and sprite, given as paths relative to the style, from the style's folder."""

    name: str
    path: Path
    kind: TileKind
    style: Path | None = None
    title: str | None = None
    attribution: str | None = None


def check_basemaps(basemaps: Sequence[BasemapSetting]) -> None:
    """Raise ValueError naming the first inconsistent basemap (files are checked when they
    are opened, at start)."""
    seen: set[str] = set()
    for basemap in basemaps:
        where = f"basemaps: {basemap.name!r}"
        if not NAME.fullmatch(basemap.name):
            raise ValueError(f"{where}: a name is letters, digits, - and _ (at most 64)")
        if basemap.name == DEFAULT_BASEMAP:
            raise ValueError(f"{where}: the name is the built-in basemap's")
        if basemap.name in seen:
            raise ValueError(f"{where}: names must be distinct")
        seen.add(basemap.name)
        if basemap.path.suffix.lower() not in ARCHIVE_SUFFIXES:
            raise ValueError(f"{where}: path must end in .pmtiles or .mbtiles")
        if basemap.style is not None and basemap.kind != "vector":
            raise ValueError(f"{where}: a style is for vector basemaps")

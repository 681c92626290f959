"""The basemaps of a running Tessera: each archive opened once at start, checked against
its setting, with its MapLibre style read (a bad file stops the start with its name)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tessera.tiles.base import TileArchiveError, TileReader
from tessera.tiles.config import BasemapSetting
from tessera.tiles.mbtiles_reader import MBTilesReader
from tessera.tiles.pmtiles_reader import PMTilesReader


@dataclass(frozen=True)
class Basemap:
    setting: BasemapSetting
    reader: TileReader
    # The operator's style, as read (its URLs are rewritten when served).
    style: dict[str, Any] | None

    @property
    def name(self) -> str:
        return self.setting.name

    @property
    def title(self) -> str:
        return self.setting.title or self.reader.info.name or self.setting.name

    @property
    def attribution(self) -> str:
        return self.setting.attribution or self.reader.info.attribution

    @property
    def assets(self) -> Path | None:
        """The folder the style's glyphs and sprite are served from."""
        return None if self.setting.style is None else self.setting.style.resolve().parent


def open_reader(path: Path) -> TileReader:
    if path.suffix.lower() == ".pmtiles":
        return PMTilesReader(path)
    return MBTilesReader(path)


def read_style(path: Path) -> dict[str, Any]:
    try:
        style = json.loads(path.read_bytes())
    except OSError as exc:
        raise TileArchiveError(f"{path}: cannot read the style: {exc.strerror}") from None
    except ValueError as exc:
        raise TileArchiveError(f"{path}: the style is not JSON: {exc}") from None
    if not isinstance(style, dict) or style.get("version") != 8:
        raise TileArchiveError(f"{path}: not a MapLibre style (version 8)")
    if not isinstance(style.get("sources"), dict) or not isinstance(style.get("layers"), list):
        raise TileArchiveError(f"{path}: a style needs sources (an object) and layers (a list)")
    return style


class Basemaps:
    """Every configured basemap, by name, open."""

    def __init__(self, basemaps: dict[str, Basemap]) -> None:
        self._basemaps = basemaps

    @classmethod
    def open(cls, settings: Sequence[BasemapSetting]) -> Basemaps:
        opened: dict[str, Basemap] = {}
        try:
            for setting in settings:
                opened[setting.name] = _open_one(setting)
        except BaseException:
            for basemap in opened.values():
                basemap.reader.close()
            raise
        return cls(opened)

    def get(self, name: str) -> Basemap | None:
        return self._basemaps.get(name)

    def __iter__(self) -> Iterator[Basemap]:
        return iter(self._basemaps.values())

    def close(self) -> None:
        for basemap in self._basemaps.values():
            basemap.reader.close()


def _open_one(setting: BasemapSetting) -> Basemap:
    where = f"basemap {setting.name!r}"
    try:
        reader = open_reader(setting.path)
    except TileArchiveError as exc:
        raise TileArchiveError(f"{where}: {exc}") from None
    try:
        if reader.info.kind != setting.kind:
            raise TileArchiveError(
                f"{setting.path} holds {reader.info.kind} tiles "
                f"({reader.info.format}), the setting says {setting.kind}"
            )
        style = None if setting.style is None else read_style(setting.style)
    except TileArchiveError as exc:
        reader.close()
        raise TileArchiveError(f"{where}: {exc}") from None
    return Basemap(setting=setting, reader=reader, style=style)

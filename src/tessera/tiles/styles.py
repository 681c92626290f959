"""What a client is given of a basemap: its TileJSON, and its MapLibre style with every
tile source pointed at this server's archive and relative glyphs and sprite at the style's
own folder, so the map needs no other server."""

from __future__ import annotations

import copy
from typing import Any, Final
from urllib.parse import urlsplit

from tessera.tiles.catalog import Basemap

TILEJSON_VERSION: Final = "3.0.0"
TILE_SOURCES: Final = ("vector", "raster", "raster-dem")


def tiles_root(base_url: str) -> str:
    return base_url.rstrip("/") + "/tiles"


def tilejson_url(basemap: Basemap, base_url: str) -> str:
    return f"{tiles_root(base_url)}/{basemap.name}.json"


def style_url(basemap: Basemap, base_url: str) -> str | None:
    return None if basemap.style is None else f"{tiles_root(base_url)}/{basemap.name}/style.json"


def tilejson(basemap: Basemap, base_url: str) -> dict[str, Any]:
    info = basemap.reader.info
    document: dict[str, Any] = {
        "tilejson": TILEJSON_VERSION,
        "name": basemap.title,
        "scheme": "xyz",
        "tiles": [f"{tiles_root(base_url)}/{basemap.name}/{{z}}/{{x}}/{{y}}"],
        "minzoom": info.min_zoom,
        "maxzoom": info.max_zoom,
        "bounds": list(info.bounds),
        "format": info.format,
    }
    if info.center is not None:
        document["center"] = list(info.center)
    if basemap.attribution:
        document["attribution"] = basemap.attribution
    if info.kind == "vector":
        document["vector_layers"] = info.vector_layers
    return document


def catalog_entry(basemap: Basemap, base_url: str) -> dict[str, Any]:
    return {
        "name": basemap.name,
        "title": basemap.title,
        "kind": basemap.setting.kind,
        "tilejson": tilejson_url(basemap, base_url),
        "style": style_url(basemap, base_url),
        "attribution": basemap.attribution,
    }


def served_style(basemap: Basemap, base_url: str) -> dict[str, Any] | None:
    if basemap.style is None:
        return None
    style = copy.deepcopy(basemap.style)
    source_url = tilejson_url(basemap, base_url)
    for name, source in list(style["sources"].items()):
        if isinstance(source, dict) and source.get("type") in TILE_SOURCES:
            kept = {k: v for k, v in source.items() if k not in ("url", "tiles")}
            style["sources"][name] = {**kept, "url": source_url}
    assets = f"{tiles_root(base_url)}/{basemap.name}/assets/"
    for key in ("glyphs", "sprite"):
        value = style.get(key)
        if isinstance(value, str) and _relative(value):
            style[key] = assets + value.removeprefix("./")
    return style


def _relative(url: str) -> bool:
    return not urlsplit(url).scheme and not url.startswith("/")

"""``/tiles``: the operator's basemaps (DESIGN §6, tessera.tiles), for anyone signed in.

``/tiles`` lists them; ``/tiles/{name}.json`` is a basemap's TileJSON, ``/tiles/{name}/
style.json`` its MapLibre style (vector basemaps that name one), ``/tiles/{name}/{z}/{x}/
{y}`` a tile (XYZ numbering; 204 where the archive holds none) and ``/tiles/{name}/assets/
...`` the style's glyphs and sprite from the style's folder.
"""

from __future__ import annotations

import gzip
import mimetypes
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from tessera.core.model import Role
from tessera.tiles.base import check_tile_address, stored_encoding
from tessera.tiles.catalog import Basemap, Basemaps
from tessera.tiles.styles import catalog_entry, served_style, tilejson
from tessera.transports.web.auth import Policy, requires
from tessera.transports.web.responses import JSONResponse, error

TILES: Final = "/tiles"
# A signed-in map may keep tiles a while; no shared cache may (they need a token).
TILE_CACHE: Final = "private, max-age=3600"
ASSET_TYPES: Final = {".pbf": "application/x-protobuf", ".json": "application/json"}

TILE_POLICIES: Final[dict[str, Policy]] = {
    "get_basemaps": requires(*Role),
    "get_tilejson": requires(*Role),
    "get_style": requires(*Role),
    "get_tile": requires(*Role),
    "get_tile_asset": requires(*Role),
}


def tile_routes() -> list[BaseRoute]:
    return [
        Route(TILES, get_basemaps, methods=["GET"], name="get_basemaps"),
        Route(f"{TILES}/{{name}}.json", get_tilejson, methods=["GET"], name="get_tilejson"),
        Route(f"{TILES}/{{name}}/style.json", get_style, methods=["GET"], name="get_style"),
        Route(
            f"{TILES}/{{name}}/{{z:int}}/{{x:int}}/{{y:int}}",
            get_tile,
            methods=["GET"],
            name="get_tile",
        ),
        Route(
            f"{TILES}/{{name}}/assets/{{path:path}}",
            get_tile_asset,
            methods=["GET"],
            name="get_tile_asset",
        ),
    ]


def _basemaps(request: Request) -> Basemaps:
    basemaps: Basemaps = request.app.state.tessera.basemaps
    return basemaps


def _base_url(request: Request) -> str:
    return str(request.base_url)


def _basemap(request: Request) -> Basemap | Response:
    name = request.path_params["name"]
    basemap = _basemaps(request).get(name)
    if basemap is None:
        return error(404, f"no basemap named {name!r}")
    return basemap


async def get_basemaps(request: Request) -> Response:
    base = _base_url(request)
    return JSONResponse({"basemaps": [catalog_entry(b, base) for b in _basemaps(request)]})


async def get_tilejson(request: Request) -> Response:
    basemap = _basemap(request)
    if isinstance(basemap, Response):
        return basemap
    return JSONResponse(tilejson(basemap, _base_url(request)))


async def get_style(request: Request) -> Response:
    basemap = _basemap(request)
    if isinstance(basemap, Response):
        return basemap
    style = served_style(basemap, _base_url(request))
    if style is None:
        return error(404, f"basemap {basemap.name!r} has no style")
    return JSONResponse(style)


async def get_tile(request: Request) -> Response:
    basemap = _basemap(request)
    if isinstance(basemap, Response):
        return basemap
    z, x, y = (int(request.path_params[key]) for key in ("z", "x", "y"))
    problem = check_tile_address(z, x, y)
    if problem is not None:
        return error(400, f"no tile {z}/{x}/{y}: {problem}")
    data = await run_in_threadpool(basemap.reader.tile, z, x, y)
    headers = {"cache-control": TILE_CACHE}
    if data is None:
        # MapLibre draws nothing there, without an error.
        return Response(status_code=204, headers=headers)
    encoding = stored_encoding(data)
    if encoding is not None:
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["content-encoding"] = encoding
        else:
            data = gzip.decompress(data)
        headers["vary"] = "accept-encoding"
    return Response(data, media_type=basemap.reader.info.media_type, headers=headers)


async def get_tile_asset(request: Request) -> Response:
    basemap = _basemap(request)
    if isinstance(basemap, Response):
        return basemap
    folder = basemap.assets
    wanted = request.path_params["path"]
    if folder is None:
        return error(404, f"basemap {basemap.name!r} has no style folder")
    path = (folder / wanted).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        return error(404, f"basemap {basemap.name!r} has no asset {wanted!r}")
    media_type = ASSET_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return FileResponse(
        path,
        media_type=media_type or "application/octet-stream",
        headers={"cache-control": TILE_CACHE},
    )

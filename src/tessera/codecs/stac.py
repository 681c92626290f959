"""STAC items (SpatioTemporal Asset Catalog, 1.0) to imagery footprints, and the search
of a static catalogue: pure, no I/O (the imagery adapter fetches,
``tessera.transports.imagery``).

An item is a GeoJSON Feature: its geometry is the footprint (a Polygon's outer ring; of a
MultiPolygon the largest part's, as an overlay is one ring; no geometry: its ``bbox``),
its properties say when (``datetime``, or ``start_datetime``/``end_datetime``) and what
(``platform``, ``constellation``, ``instruments``, ``eo:cloud_cover``, ``gsd``), its
assets and links where to get it. What a catalogue sends is untrusted: texts are cut to
printable characters and their limits, links kept only when absolute with a scheme a
browser or a GIS client may follow (``http``, ``https``, ``s3``, ``gs``), so a catalogue
can never place a ``javascript:`` link on the map (the adapter makes a static
catalogue's relative links absolute first; files on the server's disk are not served).
An item that cannot be a footprint is a ``StacItemError`` naming why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
import shapely
from shapely.geometry import shape as geojson_shape

from tessera.core.imagery import MAX_ASSETS, MAX_INSTRUMENTS, Imagery, ImageryAsset
from tessera.core.model import Label
from tessera.core.overlays import MAX_VERTICES, Overlay, OverlayKind

LINK_SCHEMES: Final = frozenset({"http", "https", "s3", "gs"})
MAX_TEXT: Final = 256
MAX_HREF: Final = 2048
# Simplifying a footprint with more vertices than an overlay holds: the first tolerance
# (degrees), multiplied until it fits.
FIRST_TOLERANCE: Final = 1e-5
Ring = tuple[tuple[float, float], ...]


class StacItemError(ValueError):
    """The item cannot be a footprint: the message says why."""


@dataclass(frozen=True)
class ImageryItem:
    """One STAC item as a footprint: its ring (closed, lon/lat) and its facts."""

    ring: Ring
    imagery: Imagery


def item_footprint(item: Mapping[str, Any], *, source: str, grading: str) -> ImageryItem:
    """The footprint and facts of ``item`` (a decoded STAC Item, its links absolute: a
    relative one is dropped) from imagery source ``source``."""
    if not isinstance(item, Mapping) or item.get("type") != "Feature":
        raise StacItemError("not a STAC item (a GeoJSON Feature)")
    item_id = _text(item.get("id"))
    if not item_id:
        raise StacItemError("the item has no id")
    properties = item.get("properties")
    if not isinstance(properties, Mapping):
        raise StacItemError(f"item {item_id}: no properties")
    start, end = _acquisition(item_id, properties)
    ring = _ring(item_id, item.get("geometry"), item.get("bbox"))
    assets = _assets(item.get("assets"))
    imagery = Imagery(
        source=source,
        item=item_id,
        collection=_text(item.get("collection")) or None,
        platform=_text(properties.get("platform")) or None,
        constellation=_text(properties.get("constellation")) or None,
        instruments=_texts(properties.get("instruments"))[:MAX_INSTRUMENTS],
        acquired_at=start,
        acquired_until=end,
        cloud_cover=_number(properties.get("eo:cloud_cover"), 0.0, 100.0, low_open=False),
        gsd_m=_number(properties.get("gsd"), 0.0, 1_000_000.0, low_open=True),
        thumbnail=_thumbnail(assets, item.get("links")),
        item_url=_self_href(item.get("links")),
        assets=tuple(assets[:MAX_ASSETS]),
        grading=grading,
    )
    return ImageryItem(ring=ring, imagery=imagery)


def imagery_overlay(found: ImageryItem, *, overlay_id: str, label: Label, author: str) -> Overlay:
    """The footprint as an area overlay of ``author`` under ``label``."""
    facts = found.imagery
    what = facts.platform or facts.constellation or facts.collection or facts.source
    # Within an overlay name's 256 characters, the time always whole.
    name = f"{what[: MAX_TEXT - 24]} {facts.acquired_at:%Y-%m-%d %H:%M}Z"
    details = [f"STAC item {facts.item}"]
    if facts.collection:
        details.append(f"of {facts.collection}")
    details.append(f"from imagery source {facts.source}")
    if facts.cloud_cover is not None:
        details.append(f"cloud cover {facts.cloud_cover:g}%")
    if facts.gsd_m is not None:
        details.append(f"GSD {facts.gsd_m:g} m")
    return Overlay(
        id=overlay_id,
        name=name,
        kind=OverlayKind.AREA,
        coordinates=found.ring,
        remarks=", ".join(details),
        valid_from=facts.acquired_at,
        label=label,
        author=author,
        imagery=facts,
    )


# -- searching a static catalogue ------------------------------------------------------------


@dataclass(frozen=True)
class ItemFilter:
    """What a search asks for: items meeting any of ``areas`` (GeoJSON geometries; none:
    anywhere), acquired within [start, end] (None: open), of ``collections`` (empty: any)."""

    areas: tuple[Mapping[str, Any], ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    collections: tuple[str, ...] = ()

    def matches(self, item: ImageryItem) -> bool:
        facts = item.imagery
        if self.collections and facts.collection not in self.collections:
            return False
        first, last = facts.acquired_at, facts.acquired_until or facts.acquired_at
        if self.start is not None and last < self.start:
            return False
        if self.end is not None and first > self.end:
            return False
        if not self.areas:
            return True
        footprint = shapely.Polygon(item.ring)
        return any(footprint.intersects(geojson_shape(dict(area))) for area in self.areas)


def bbox_geometry(bbox: Sequence[float]) -> dict[str, Any]:
    """A west, south, east, north box as a GeoJSON Polygon."""
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


# -- the parts of an item ------------------------------------------------------------------


def _acquisition(item_id: str, properties: Mapping[str, Any]) -> tuple[datetime, datetime | None]:
    instant = _instant(item_id, "datetime", properties.get("datetime"))
    start = _instant(item_id, "start_datetime", properties.get("start_datetime"))
    end = _instant(item_id, "end_datetime", properties.get("end_datetime"))
    first = instant or start
    if first is None:
        raise StacItemError(f"item {item_id}: neither datetime nor start_datetime")
    if end is not None and end < first:
        raise StacItemError(f"item {item_id}: end_datetime is before its start")
    return first, end if end is not None and end != first else None


def _instant(item_id: str, name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        raise StacItemError(f"item {item_id}: {name} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise StacItemError(f"item {item_id}: {name} has no time zone")
    return moment.astimezone(UTC)


def _ring(item_id: str, geometry: Any, bbox: Any) -> Ring:
    if geometry is None:
        if not isinstance(bbox, list | tuple) or len(bbox) not in (4, 6):
            raise StacItemError(f"item {item_id}: neither geometry nor bbox")
        # Six numbers carry heights after south and after north.
        numbers = bbox if len(bbox) == 4 else [bbox[0], bbox[1], bbox[3], bbox[4]]
        geometry = bbox_geometry([_coordinate(item_id, n) for n in numbers])
    try:
        parsed = geojson_shape(geometry)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.ShapelyError):
        raise StacItemError(f"item {item_id}: its geometry is not GeoJSON") from None
    if isinstance(parsed, shapely.MultiPolygon) and not parsed.is_empty:
        parsed = max(parsed.geoms, key=lambda part: part.area)
    if not isinstance(parsed, shapely.Polygon) or parsed.is_empty:
        raise StacItemError(f"item {item_id}: its footprint is not a polygon")
    ring = [(float(x), float(y)) for x, y, *_ in parsed.exterior.coords]
    for lon, lat in ring:
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180):
            raise StacItemError(f"item {item_id}: a position is off the globe")
        if not -90 <= lat <= 90:
            raise StacItemError(f"item {item_id}: a position is off the globe")
    if len(ring) < 4:
        raise StacItemError(f"item {item_id}: its footprint has fewer than three corners")
    tolerance = FIRST_TOLERANCE
    while len(ring) > MAX_VERTICES:
        outline = shapely.simplify(parsed, tolerance, preserve_topology=True)
        if isinstance(outline, shapely.Polygon):
            ring = [(float(x), float(y)) for x, y, *_ in outline.exterior.coords]
        tolerance *= 4
    return tuple(ring)


def _coordinate(item_id: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StacItemError(f"item {item_id}: its bbox is not numbers")
    return float(value)


def _assets(assets: Any) -> list[ImageryAsset]:
    if not isinstance(assets, Mapping):
        return []
    found: list[ImageryAsset] = []
    for key, asset in assets.items():
        if not isinstance(asset, Mapping):
            continue
        href = _href(asset.get("href"))
        name = _text(key)
        if href is None or not name:
            continue
        found.append(
            ImageryAsset(
                key=name,
                href=href,
                type=_text(asset.get("type")) or None,
                title=_text(asset.get("title")) or None,
                roles=_texts(asset.get("roles"))[:8],
            )
        )
    return found


def _thumbnail(assets: Sequence[ImageryAsset], links: Any) -> str | None:
    for asset in assets:
        if "thumbnail" in asset.roles or asset.key == "thumbnail":
            return asset.href
    for link in _links(links):
        if link.get("rel") in ("thumbnail", "preview"):
            href: str | None = _href(link.get("href"))
            return href
    return None


def _self_href(links: Any) -> str | None:
    for link in _links(links):
        if link.get("rel") == "self":
            return _href(link.get("href"))
    return None


def _links(links: Any) -> Iterable[Mapping[str, Any]]:
    if not isinstance(links, list):
        return []
    return [link for link in links if isinstance(link, Mapping)]


def _href(value: Any) -> str | None:
    """An absolute link a client may follow, or None."""
    if not isinstance(value, str) or not value or len(value) > MAX_HREF:
        return None
    href: str = value
    scheme, colon, rest = href.partition(":")
    if not colon or scheme.lower() not in LINK_SCHEMES or not rest.startswith("//"):
        return None
    if any(not ch.isprintable() or ch.isspace() for ch in href):
        return None
    return href


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return "".join(ch for ch in value if ch.isprintable())[:MAX_TEXT].strip()


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(text for text in (_text(entry) for entry in value) if text)


def _number(value: Any, low: float, high: float, *, low_open: bool) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or number > high or number < low:
        return None
    if low_open and number == low:
        return None
    return number

"""Imagery footprints (DESIGN §8: STAC): what an overlay that stands for a satellite or
aerial image carries besides its shape.

An imagery overlay is an area (the image's footprint) with these facts: where the image
comes from (the imagery source's name and grading, the catalogue's collection and item
id), what took it (platform, constellation, instruments), when (its acquisition time, or
interval), how good it is (cloud cover, ground sample distance) and where to get it (the
thumbnail, the assets, the catalogue's own page for the item). It is journaled, labelled
and released like every overlay (DESIGN §3); only the links are kept, never the pixels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import msgspec

MAX_ASSETS: Final = 32
MAX_INSTRUMENTS: Final = 16
# Catalogue ids, names and media types as stored: long enough for any real catalogue.
Text = Annotated[str, msgspec.Meta(max_length=256)]
Href = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
Percent = Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]
Metres = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]


class ImageryAsset(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One file of the image as its catalogue lists it (``key``: the item's own name for
    it, ``visual``, ``B04``, ``thumbnail``)."""

    key: Text
    href: Href
    type: Text | None = None
    title: Text | None = None
    roles: tuple[Text, ...] = ()


class Imagery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The facts of one image (one STAC item). ``acquired_until``: the end of an image
    taken over an interval (STAC ``end_datetime``), else None. ``cloud_cover`` in percent,
    ``gsd_m`` in metres. ``grading``: the imagery source's Admiralty code."""

    source: Text
    item: Text
    collection: Text | None = None
    platform: Text | None = None
    constellation: Text | None = None
    instruments: Annotated[tuple[Text, ...], msgspec.Meta(max_length=MAX_INSTRUMENTS)] = ()
    acquired_at: datetime
    acquired_until: datetime | None = None
    cloud_cover: Percent | None = None
    gsd_m: Metres | None = None
    thumbnail: Href | None = None
    item_url: Href | None = None
    assets: Annotated[tuple[ImageryAsset, ...], msgspec.Meta(max_length=MAX_ASSETS)] = ()
    grading: Text = ""


def imagery_properties(imagery: Imagery) -> dict[str, object]:
    """The flat properties an imagery footprint is served with (the map, OGC clients)."""
    return {
        "source": imagery.source,
        "item": imagery.item,
        "collection": imagery.collection,
        "platform": imagery.platform,
        "constellation": imagery.constellation,
        "instruments": list(imagery.instruments),
        "acquired_at": imagery.acquired_at,
        "acquired_until": imagery.acquired_until,
        "cloud_cover": imagery.cloud_cover,
        "gsd_m": imagery.gsd_m,
        "thumbnail": imagery.thumbnail,
        "item_url": imagery.item_url,
        "assets": [
            {
                "key": asset.key,
                "href": asset.href,
                "type": asset.type,
                "title": asset.title,
                "roles": list(asset.roles),
            }
            for asset in imagery.assets
        ],
        "grading": imagery.grading,
    }

"""``[[imagery]]`` in the settings: one imagery source each (msgspec only, so the settings
can hold it without loading pystac)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from tessera.core.labels import ClassificationScheme
from tessera.core.model import ID_PATTERN, Grading, Label
from tessera.transports.source_config import check_sources

ImageryKind = Literal["stac-api", "static"]
SourceName = Annotated[str, msgspec.Meta(pattern=ID_PATTERN, max_length=64)]
BBox = tuple[float, float, float, float]


class ImagerySource(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One imagery source. ``kind``: ``stac-api`` searches a STAC API at ``url`` (its
    landing page); ``static`` reads a static STAC catalogue (its ``catalog.json``) at
    ``path``, or at ``url`` when it is served over HTTP. Every ``interval_s`` it is
    searched for items of ``collections`` (empty: any) meeting the areas of interest
    (``areas``: west, south, east, north boxes; ``overlays``: the names or ids of
    overlays on the pictures) acquired within the last ``lookback_s`` (null: any time),
    ``max_items`` at most. Each item becomes an imagery footprint overlay of
    ``principal`` under ``label`` (none: the principal's default), graded ``grading``."""

    name: SourceName
    kind: ImageryKind
    principal: str
    url: str | None = None
    path: Path | None = None
    collections: tuple[str, ...] = ()
    areas: tuple[BBox, ...] = ()
    overlays: tuple[str, ...] = ()
    interval_s: float = 600.0
    lookback_s: float | None = 30 * 86_400.0
    max_items: int = 500
    label: Label | None = None
    grading: str = "B2"
    timeout_s: float = 30.0

    @property
    def address(self) -> str:
        """Where it is read from, as operators named it."""
        return self.url if self.url is not None else str(self.path)

    def problem(self) -> str | None:
        """What is wrong with this source's settings, or None."""
        if self.kind == "stac-api":
            if self.path is not None or self.url is None:
                return "a stac-api source takes url (its landing page), not path"
            if urlsplit(self.url).scheme not in ("http", "https"):
                return "url must be http:// or https://"
        elif (self.url is None) == (self.path is None):
            return "a static source takes either path (a catalog.json) or url"
        elif self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            return "url must be http:// or https:// (a file on disk is path)"
        if not self.areas and not self.overlays:
            return "give areas (west, south, east, north boxes) or overlays (their names)"
        for box in self.areas:
            if problem := bbox_problem(box):
                return f"areas: {problem}"
        try:
            Grading.parse(self.grading)
        except ValueError as exc:
            return f"grading {exc}"
        if not 1.0 <= self.interval_s <= 7 * 86_400.0:
            return "interval_s must be within 1..604800"
        if self.lookback_s is not None and not 0 < self.lookback_s < math.inf:
            return "lookback_s must be positive (or null for any time)"
        if not 1 <= self.max_items <= 10_000:
            return "max_items must be within 1..10000"
        if not 0 < self.timeout_s <= 600:
            return "timeout_s must be within (0, 600]"
        return None


def bbox_problem(box: BBox) -> str | None:
    west, south, east, north = box
    if not all(math.isfinite(value) for value in box):
        return "must be finite numbers"
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        return "longitudes must be within -180..180"
    if not -90 <= south <= north <= 90:
        return "latitudes must be within -90..90, south not above north"
    return None


def check_imagery(sources: Sequence[ImagerySource], scheme: ClassificationScheme) -> None:
    """Raise ValueError naming what is wrong with the ``[[imagery]]`` settings."""
    check_sources("imagery", "imagery", sources, scheme)

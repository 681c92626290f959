"""A collection's extent: the smallest box holding every feature it serves, as the shapes
themselves reach (circles and corridors as drawn, a shape crossing the antimeridian in its
two parts, as every store keeps them: ``store.overlay_shapes``), and the time from its
earliest feature to its latest.

The box crosses the antimeridian (west greater than east, as OGC API - Features reads a
box) when that is narrower than going round the other way. A collection with nothing in
it has no extent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime

from tessera.transports.web.ogc.params import BBox, Period


def spatial_extent(boxes: Iterable[BBox]) -> BBox | None:
    """The smallest (west, south, east, north) box holding every one of ``boxes`` (each
    within -180..180 degrees of longitude, west not east of east), or None for none."""
    held = list(boxes)
    if not held:
        return None
    south, north = min(box[1] for box in held), max(box[3] for box in held)
    spans: list[list[float]] = []
    for west, east in sorted((box[0], box[2]) for box in held):
        if spans and west <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], east)
        else:
            spans.append([west, east])
    # Leave out the widest stretch of longitude that nothing reaches: round the back of
    # the globe (an ordinary box) unless one between two spans is wider.
    gap, west, east = spans[0][0] + 360.0 - spans[-1][1], spans[0][0], spans[-1][1]
    for before, after in itertools.pairwise(spans):
        if after[0] - before[1] > gap:
            gap, west, east = after[0] - before[1], after[0], before[1]
    return west, south, east, north


def temporal_extent(periods: Sequence[Period | None]) -> tuple[datetime | None, datetime | None]:
    """From the earliest to the latest time of any feature; an open end (or no feature
    with a time) is ``None``, which the standard reads as open."""
    known = [period for period in periods if period is not None]
    if not known:
        return None, None
    starts = [period.start for period in known]
    ends = [period.end for period in known]
    start = None if None in starts else min(s for s in starts if s is not None)
    end = None if None in ends else max(e for e in ends if e is not None)
    return start, end

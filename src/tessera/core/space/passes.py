"""Passes of many satellites over many sites, all at once.

A coarse grid of SGP4 states over every satellite and time, a cheap cone test over every
satellite, site and grid interval that can only keep too much (never miss a pass), then
root refinement on cubic pieces only in the intervals the test kept: culmination where the
elevation stops rising, rise and set where it crosses the horizon mask.
"""

from __future__ import annotations

import math
from typing import Any, Final

import msgspec
import numpy as np
import numpy.typing as npt
from sgp4.api import SatrecArray

from tessera.core.space.elements import ElementSet, satrec
from tessera.core.space.frames import (
    EARTH_ROTATION_RAD_S,
    WGS84_A_KM,
    FloatArray,
    propagate_ecef,
    sites_ecef,
)
from tessera.core.space.hermite import (
    Pieces,
    elevation_rate_sign,
    elevation_sine,
)
from tessera.core.space.sightline import SightPolynomials

IntArray = npt.NDArray[np.int64]
_MU_KM3_S2: Final = 398600.8  # WGS-72, as SGP4
# Sites below the ellipsoid's equatorial radius plus this, and the geodetic vertical's
# tilt from the geocentric one, are covered by this much extra cone.
_CONE_SLACK_RAD: Final = math.radians(0.5)
# Satellites propagated and searched together: few enough that the cone test over every
# site and grid step, and every refinement array, stays in cache (8 ran fastest of 4 to 64).
_SATELLITE_CHUNK: Final = 8
# The grid reaches this far beyond the span asked about, so a pass already under way at its
# start (or not yet over at its end) is found whole: longer than any low orbit's pass.
PAD_SECONDS: Final = 1800.0


class Sites(msgspec.Struct, frozen=True):
    """Places passes are predicted over: WGS-84 degrees, metres above the ellipsoid."""

    lat: list[float]
    lon: list[float]
    alt: list[float]


class PassTable(msgspec.Struct, frozen=True):
    """One row per pass (struct of arrays): indices into the satellites and sites asked
    about, Unix times in seconds (NaN: outside the computed span), elevation at culmination
    and the off-nadir angle the site is seen at then, in degrees."""

    satellite: IntArray
    site: IntArray
    rise: FloatArray
    culmination: FloatArray
    set: FloatArray
    max_elevation: FloatArray
    off_nadir: FloatArray

    def __len__(self) -> int:
        return int(self.satellite.size)


def _apogee_and_rate(elements: list[ElementSet]) -> tuple[FloatArray, FloatArray]:
    """Each orbit's largest radius (km) and fastest angular rate over the ground (rad/s)."""
    n = np.array([e.mean_motion for e in elements]) * 2 * np.pi / 86400.0
    ecc = np.array([e.eccentricity for e in elements])
    a = np.cbrt(_MU_KM3_S2 / n**2)
    perigee_rate = n * (1 + ecc) ** 2 / (1 - ecc**2) ** 1.5
    return a * (1 + ecc) * 1.02, perigee_rate * 1.05 + EARTH_ROTATION_RAD_S


def _cone_cosines(apogee: FloatArray, rate: FloatArray, mask: float, step: float) -> FloatArray:
    """Cosine of the largest Earth-central angle between a sub-satellite point and a site
    that still sees the satellite above ``mask`` (radians) somewhere in a grid interval."""
    ratio = np.clip(WGS84_A_KM * 1.002 * math.cos(mask) / apogee, -1, 1)
    psi = np.arccos(ratio) - mask + _CONE_SLACK_RAD + rate * step / 2
    result: FloatArray = np.cos(np.minimum(psi, np.pi))
    return result


def find_passes(
    elements: list[ElementSet],
    sites: Sites,
    start: float,
    end: float,
    *,
    mask_degrees: float = 0.0,
    step: float = 120.0,
) -> PassTable:
    """Every pass of every satellite over every site that is above ``mask_degrees`` at some
    time in [start, end] (Unix seconds). A rise or set more than :data:`PAD_SECONDS` outside
    the span is NaN."""
    if not elements or not sites.lat or end <= start:
        return _empty()
    mask = math.radians(mask_degrees)
    site_pos, site_up = sites_ecef(
        np.asarray(sites.lat, float), np.asarray(sites.lon, float), np.asarray(sites.alt, float)
    )
    site_unit = site_pos / np.linalg.norm(site_pos, axis=1)[:, None]
    pad = math.ceil(PAD_SECONDS / step) * step
    count = math.ceil((end - start + 2 * pad) / step)
    grid = start - pad + step * np.arange(count + 1, dtype=float)
    apogee, rate = _apogee_and_rate(elements)
    cone = _cone_cosines(apogee, rate, mask, step)
    tables = []
    for first in range(0, len(elements), _SATELLITE_CHUNK):
        chunk = slice(first, first + _SATELLITE_CHUNK)
        records = SatrecArray([satrec(e) for e in elements[chunk]])
        position, velocity = propagate_ecef(records, grid)
        table = _chunk_passes(
            position, velocity, grid, step, site_pos, site_up, site_unit, cone[chunk], mask
        )
        # Set (NaN: not yet) at or after the start, rise (NaN: already up) by the end.
        keep = ~(table[4] < start) & ~(table[2] > end)
        tables.append((table[0][keep] + first, *(part[keep] for part in table[1:])))
    return PassTable(*(np.concatenate(parts) for parts in zip(*tables, strict=True)))


def _empty() -> PassTable:
    none = np.zeros(0)
    return PassTable(np.zeros(0, np.int64), np.zeros(0, np.int64), none, none, none, none, none)


def _chunk_passes(
    position: FloatArray,
    velocity: FloatArray,
    grid: FloatArray,
    step: float,
    site_pos: FloatArray,
    site_up: FloatArray,
    site_unit: FloatArray,
    cone: FloatArray,
    mask: float,
) -> tuple[npt.NDArray[Any], ...]:
    n_t = position.shape[2]
    n_site = site_pos.shape[0]
    unit = (position / np.sqrt(np.sum(position * position, axis=0))).astype(np.float32)
    # Laid out satellite, site, time: a pair's samples come one after the other.
    cosines = np.matmul(site_unit.astype(np.float32), np.ascontiguousarray(unit.transpose(1, 0, 2)))
    near = cosines > cone.astype(np.float32)[:, None, None]
    wanted = near.copy()
    wanted[:, :, 1:] |= near[:, :, :-1]
    wanted[:, :, :-1] |= near[:, :, 1:]
    flat = np.flatnonzero(wanted)
    if flat.size < 2:
        return tuple(np.zeros(0, np.int64 if column < 2 else float) for column in range(7))
    pair = flat // n_t
    k = flat - pair * n_t
    sat = pair // n_site
    site = pair - sat * n_site
    # Every sample's elevation in single precision (signs and order only: the events'
    # intervals are judged again, and refined, in double).
    sample = sat * n_t + k
    sight32 = np.take(position.reshape(3, -1).astype(np.float32), sample, axis=1)
    sight32 -= np.take(site_pos.T.astype(np.float32), site, axis=1)
    el32 = elevation_sine(sight32, np.take(site_up.T.astype(np.float32), site, axis=1))
    el32 -= np.float32(math.sin(mask))
    first = np.flatnonzero(flat[1:] == flat[:-1] + 1)  # intervals: sample i and i + 1
    second = first + 1
    crossing = first[(el32[first] < 0) != (el32[second] < 0)]
    # A highest sample (with a sample either side) has the culmination next to it; which
    # side, the elevation's rate there says.
    middle = second[:-1][second[:-1] == first[1:]]
    high = middle[(el32[middle] >= el32[middle - 1]) & (el32[middle] > el32[middle + 1])]
    states = position.reshape(3, -1), velocity.reshape(3, -1)
    at_high = np.take(site_pos.T, site[high], axis=1)
    rate_high = elevation_rate_sign(
        np.take(states[0], sample[high], axis=1) - at_high,
        np.take(states[1], sample[high], axis=1),
        np.take(site_up.T, site[high], axis=1),
    )
    marked = np.zeros(flat.size, dtype=bool)
    marked[crossing] = True
    marked[np.where(rate_high > 0, high, high - 1)] = True
    starts = np.flatnonzero(marked)
    i0, i1 = starts, starts + 1
    at = np.take(site_pos.T, site[i0], axis=1)
    up = np.take(site_up.T, site[i0], axis=1)
    p0, v0 = (np.take(a, sample[i0], axis=1) for a in states)
    p1, v1 = (np.take(a, sample[i1], axis=1) for a in states)
    pieces = Pieces(grid[k[i0]], step, (p0, v0, p1, v1), at, up)
    sight = SightPolynomials.of(pieces)
    level = math.sin(mask)
    zero, one = np.zeros(starts.size), np.ones(starts.size)
    (e0, r0, g0), (e1, r1, g1) = sight.ends()
    e0 -= level
    e1 -= level
    rows = np.flatnonzero((g0 > 0) & (g1 <= 0))
    s_peak = np.full(starts.size, np.nan)
    el_peak = np.full(starts.size, np.nan)
    if rows.size:
        peaks = sight.subset(rows)
        s_peak[rows] = peaks.culminations(g0[rows], g1[rows])
        el_peak[rows] = peaks.sine(s_peak[rows]) - level
    has_peak = ~np.isnan(s_peak)
    # Horizon crossings, in the interval or, where it holds a culmination, on each side of it.
    mid_s = np.where(has_peak, s_peak, one)
    mid_el = np.where(has_peak, el_peak, e1)
    mid_rate = np.where(has_peak, 0.0, r1)
    everyone = np.arange(starts.size)
    rises_a, sets_a = _crossings(
        sight, everyone, (zero, mid_s), (e0, mid_el), (r0, mid_rate), level
    )
    peaked = np.flatnonzero(has_peak)
    rises_b, sets_b = _crossings(
        sight,
        peaked,
        (s_peak[peaked], one[peaked]),
        (el_peak[peaked], e1[peaked]),
        (zero[peaked], r1[peaked]),
        level,
    )
    t_peak = pieces.t0 + step * s_peak
    visible = np.flatnonzero(has_peak & (el_peak >= 0))
    highest = np.arcsin(np.clip(el_peak + math.sin(mask), -1.0, 1.0))
    slots = _slots(starts.size, (rises_a, sets_a), (visible, t_peak[visible]), (rises_b, sets_b))
    return _assemble(sat[i0], site[i0], n_site, slots, highest, pieces)


def _crossings(
    sight: SightPolynomials,
    rows: IntArray,
    ends: tuple[FloatArray, FloatArray],
    values: tuple[FloatArray, FloatArray],
    slopes: tuple[FloatArray, FloatArray],
    level: float,
) -> tuple[tuple[IntArray, FloatArray], tuple[IntArray, FloatArray]]:
    """Of ``rows`` (brackets given per row: ends as fractions of the piece, the sine above
    the mask and its rate there), those rising through the mask and those setting through
    it, with the times."""
    f_low, f_high = values
    found = []
    for chosen in (
        np.flatnonzero((f_low < 0) & (f_high >= 0)),
        np.flatnonzero((f_low >= 0) & (f_high < 0)),
    ):
        which = rows[chosen]
        part = sight.subset(which)
        fractions = part.crossings(
            (ends[0][chosen], ends[1][chosen]),
            (f_low[chosen], f_high[chosen]),
            (slopes[0][chosen], slopes[1][chosen]),
            level,
        )
        found.append((which, part.t0 + part.step * fractions))
    return found[0], found[1]


Event = tuple[IntArray, FloatArray]


def _slots(
    rows: int, before: tuple[Event, Event], peaks: Event, after: tuple[Event, Event]
) -> tuple[npt.NDArray[np.int8], IntArray, FloatArray]:
    """Kinds (0 rise, 1 culmination, 2 set), rows and times of every event, in time order
    for each satellite and site without sorting: rows are already in that order and each
    holds at most a crossing before its culmination, the culmination, and a crossing after
    it (three slots a row)."""
    kinds = np.full((rows, 3), -1, dtype=np.int8)
    times = np.full((rows, 3), np.nan)
    for slot, kind, (which, when) in (
        (0, 0, before[0]),
        (0, 2, before[1]),
        (1, 1, peaks),
        (2, 0, after[0]),
        (2, 2, after[1]),
    ):
        kinds[which, slot] = kind
        times[which, slot] = when
    filled = np.flatnonzero(kinds.ravel() >= 0)
    return kinds.ravel()[filled], filled // 3, times.ravel()[filled]


def _assemble(
    sat: IntArray,
    site: IntArray,
    n_site: int,
    slots: tuple[npt.NDArray[np.int8], IntArray, FloatArray],
    el_peak: FloatArray,
    pieces: Pieces,
) -> tuple[npt.NDArray[Any], ...]:
    """Each culmination above the mask with the last rise before it and the first set after
    it, for the same satellite and site."""
    kinds, rows, times = slots
    keys = sat[rows] * n_site + site[rows]
    index = np.arange(kinds.size)
    last_rise = np.maximum.accumulate(np.where(kinds == 0, index, -1))
    next_set = np.minimum.accumulate(np.where(kinds == 2, index, kinds.size)[::-1])[::-1]
    peaks = np.flatnonzero(kinds == 1)
    rise_i, set_i = last_rise[peaks], next_set[peaks]
    rise_ok = (rise_i >= 0) & (keys[np.maximum(rise_i, 0)] == keys[peaks])
    set_ok = (set_i < kinds.size) & (keys[np.minimum(set_i, kinds.size - 1)] == keys[peaks])
    rise = np.where(rise_ok, times[np.maximum(rise_i, 0)], np.nan)
    set_ = np.where(set_ok, times[np.minimum(set_i, kinds.size - 1)], np.nan)
    peak_rows = rows[peaks]
    at_peak = pieces.position(times[peaks], peak_rows)
    to_site = pieces.site[:, peak_rows] - at_peak
    cosine = -_dot3(at_peak, to_site) / np.sqrt(_dot3(at_peak, at_peak) * _dot3(to_site, to_site))
    off_nadir = np.degrees(np.arccos(np.clip(cosine, -1, 1)))
    return (
        sat[peak_rows],
        site[peak_rows],
        rise,
        times[peaks],
        set_,
        np.degrees(el_peak[peak_rows]),
        off_nadir,
    )


def _dot3(a: FloatArray, b: FloatArray) -> FloatArray:
    result: FloatArray = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    return result

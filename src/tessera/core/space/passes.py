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
from tessera.core.space.hermite import Pieces, bracketed_roots, elevation_of, elevation_rate_sign

IntArray = npt.NDArray[np.int64]
_MU_KM3_S2: Final = 398600.8  # WGS-72, as SGP4
# Sites below the ellipsoid's equatorial radius plus this, and the geodetic vertical's
# tilt from the geocentric one, are covered by this much extra cone.
_CONE_SLACK_RAD: Final = math.radians(0.5)
_SATELLITE_CHUNK: Final = 256
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
        tables.append((table[0] + first, *table[1:]))
    joined = [np.concatenate(parts) for parts in zip(*tables, strict=True)]
    keep = (np.nan_to_num(joined[4], nan=np.inf) >= start) & (
        np.nan_to_num(joined[2], nan=-np.inf) <= end
    )
    chosen = [part[keep] for part in joined]
    return PassTable(*chosen)


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
    n_sat, n_t, _ = position.shape
    n_site = site_pos.shape[0]
    unit = (position / np.linalg.norm(position, axis=-1)[..., None]).astype(np.float32)
    cosines = unit.reshape(-1, 3) @ site_unit.T.astype(np.float32)
    near = cosines.reshape(n_sat, n_t, n_site) > cone.astype(np.float32)[:, None, None]
    near = np.nan_to_num(near, nan=False)
    maybe = near[:, :-1, :] | near[:, 1:, :]
    sat, k, site = np.nonzero(maybe)
    if sat.size == 0:
        return tuple(np.zeros(0) for _ in range(7))
    pieces = Pieces(
        grid[k],
        step,
        (position[sat, k], velocity[sat, k], position[sat, k + 1], velocity[sat, k + 1]),
        site_pos[site],
        site_up[site],
    )
    sight0, sight1 = pieces.p0 - pieces.site, pieces.p1 - pieces.site
    el0, el1 = elevation_of(sight0, pieces.up), elevation_of(sight1, pieces.up)
    g0 = elevation_rate_sign(sight0, pieces.v0, pieces.up)
    g1 = elevation_rate_sign(sight1, pieces.v1, pieces.up)
    t0, t1 = grid[k], grid[k] + step
    # Culminations: the elevation stops rising inside the interval.
    peak = np.flatnonzero((g0 > 0) & (g1 <= 0))
    t_peak = np.full(sat.size, np.nan)
    el_peak = np.full(sat.size, np.nan)
    if peak.size:
        t_peak[peak] = bracketed_roots(
            lambda rows, t: pieces.rising(t, peak[rows]),
            t0[peak],
            t1[peak],
            g0[peak],
            g1[peak],
            tolerance=1e-2,
        )
        el_peak[peak] = pieces.elevation(t_peak[peak], peak)
    has_peak = ~np.isnan(t_peak)
    # Horizon crossings, in the interval or, where it holds a culmination, on each side of it.
    mid_t = np.where(has_peak, t_peak, t1)
    mid_el = np.where(has_peak, el_peak, el1)
    rises_a, sets_a = _crossings(pieces, t0, mid_t, el0 - mask, mid_el - mask, mask)
    second = np.flatnonzero(has_peak)
    rises_b, sets_b = _crossings(
        _sub(pieces, second),
        t_peak[second],
        t1[second],
        el_peak[second] - mask,
        el1[second] - mask,
        mask,
    )
    rises = (
        np.concatenate((rises_a[0], second[rises_b[0]])),
        np.concatenate((rises_a[1], rises_b[1])),
    )
    sets = (np.concatenate((sets_a[0], second[sets_b[0]])), np.concatenate((sets_a[1], sets_b[1])))
    visible = np.flatnonzero(has_peak & (el_peak >= mask))
    return _assemble(sat, site, n_site, visible, t_peak, el_peak, rises, sets, pieces)


def _sub(pieces: Pieces, rows: IntArray) -> Pieces:
    return Pieces(
        pieces.t0[rows],
        pieces.step,
        (pieces.p0[rows], pieces.v0[rows], pieces.p1[rows], pieces.v1[rows]),
        pieces.site[rows],
        pieces.up[rows],
    )


def _crossings(
    pieces: Pieces,
    low: FloatArray,
    high: FloatArray,
    f_low: FloatArray,
    f_high: FloatArray,
    mask: float,
) -> tuple[tuple[IntArray, FloatArray], tuple[IntArray, FloatArray]]:
    """Rows rising through the mask in [low, high] and rows setting through it, with times."""
    found = []
    for rows in (
        np.flatnonzero((f_low < 0) & (f_high >= 0)),
        np.flatnonzero((f_low >= 0) & (f_high < 0)),
    ):
        times = (
            bracketed_roots(
                lambda r, t, rows=rows: pieces.elevation(t, rows[r]) - mask,  # type: ignore[misc]
                low[rows],
                high[rows],
                f_low[rows],
                f_high[rows],
            )
            if rows.size
            else np.zeros(0)
        )
        found.append((rows, times))
    return found[0], found[1]


def _assemble(
    sat: IntArray,
    site: IntArray,
    n_site: int,
    visible: IntArray,
    t_peak: FloatArray,
    el_peak: FloatArray,
    rises: tuple[IntArray, FloatArray],
    sets: tuple[IntArray, FloatArray],
    pieces: Pieces,
) -> tuple[npt.NDArray[Any], ...]:
    """Each culmination above the mask with the last rise before it and the first set after
    it, for the same satellite and site."""
    pair = sat * n_site + site
    kinds = np.concatenate(
        (np.zeros(rises[0].size), np.ones(visible.size), np.full(sets[0].size, 2))
    )
    rows = np.concatenate((rises[0], visible, sets[0]))
    times = np.concatenate((rises[1], t_peak[visible], sets[1]))
    keys = pair[rows]
    order = np.lexsort((kinds, times, keys))
    kinds, rows, times, keys = kinds[order], rows[order], times[order], keys[order]
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
    at_peak, _ = pieces.state(times[peaks], peak_rows)
    nadir = -at_peak
    to_site = pieces.site[peak_rows] - at_peak
    cosine = np.sum(nadir * to_site, axis=1) / (
        np.linalg.norm(nadir, axis=1) * np.linalg.norm(to_site, axis=1)
    )
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

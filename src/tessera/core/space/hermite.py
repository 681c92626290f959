"""Cubic Hermite pieces between propagated samples, and a vectorised bracketing root finder.

SGP4 gives each sample's velocity, so a cubic through two samples a couple of minutes apart
stays within metres of the orbit: root refinement needs no further propagation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from tessera.core.space.frames import FloatArray

IntArray = npt.NDArray[np.int64]


class Pieces:
    """One cubic per row: positions and velocities at both ends of a ``step``-second span
    starting at ``t0``; the site each row is seen from (``site``, its ``up``)."""

    def __init__(
        self,
        t0: FloatArray,
        step: float,
        ends: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
        site: FloatArray,
        up: FloatArray,
    ) -> None:
        self.t0 = t0
        self.step = step
        self.p0, self.v0, self.p1, self.v1 = ends
        self.site = site
        self.up = up

    def state(self, t: FloatArray, rows: IntArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Position and velocity at ``t`` of every row (or of ``rows``)."""
        pick = slice(None) if rows is None else rows
        p0, v0, p1, v1 = self.p0[pick], self.v0[pick], self.p1[pick], self.v1[pick]
        h = self.step
        s = ((t - self.t0[pick]) / h)[:, None]
        s2, s3 = s * s, s * s * s
        position = (
            (2 * s3 - 3 * s2 + 1) * p0
            + (s3 - 2 * s2 + s) * h * v0
            + (-2 * s3 + 3 * s2) * p1
            + (s3 - s2) * h * v1
        )
        velocity = (
            (6 * s2 - 6 * s) / h * p0
            + (3 * s2 - 4 * s + 1) * v0
            + (-6 * s2 + 6 * s) / h * p1
            + (3 * s2 - 2 * s) * v1
        )
        return position, velocity

    def elevation(self, t: FloatArray, rows: IntArray | None = None) -> FloatArray:
        """Elevation above the site's horizon, radians."""
        pick = slice(None) if rows is None else rows
        position, _ = self.state(t, rows)
        return elevation_of(position - self.site[pick], self.up[pick])

    def rising(self, t: FloatArray, rows: IntArray | None = None) -> FloatArray:
        """A quantity with the sign of the elevation's rate (zero at culmination)."""
        pick = slice(None) if rows is None else rows
        position, velocity = self.state(t, rows)
        return elevation_rate_sign(position - self.site[pick], velocity, self.up[pick])


def elevation_of(line_of_sight: FloatArray, up: FloatArray) -> FloatArray:
    norm = np.linalg.norm(line_of_sight, axis=-1)
    result: FloatArray = np.arcsin(np.clip(np.sum(line_of_sight * up, axis=-1) / norm, -1, 1))
    return result


def elevation_rate_sign(
    line_of_sight: FloatArray, velocity: FloatArray, up: FloatArray
) -> FloatArray:
    """d/dt (d·u/|d|) times |d|³: (v·u)|d|² - (d·u)(d·v)."""
    d_u = np.sum(line_of_sight * up, axis=-1)
    v_u = np.sum(velocity * up, axis=-1)
    d_v = np.sum(line_of_sight * velocity, axis=-1)
    d_d = np.sum(line_of_sight * line_of_sight, axis=-1)
    result: FloatArray = v_u * d_d - d_u * d_v
    return result


def bracketed_roots(
    function: Callable[[IntArray, FloatArray], FloatArray],
    low: FloatArray,
    high: FloatArray,
    f_low: FloatArray,
    f_high: FloatArray,
    *,
    tolerance: float = 1e-3,
    iterations: int = 40,
) -> FloatArray:
    """Roots of ``function(rows, t)`` inside brackets whose ends differ in sign, by the
    Illinois variant of regula falsi; stops when every bracket is under ``tolerance``."""
    a, b, fa, fb = low.copy(), high.copy(), f_low.copy(), f_high.copy()
    rows: IntArray = np.arange(a.size)
    side = np.zeros(a.size, dtype=np.int8)
    active = rows
    last = 0.5 * (a + b)
    for _ in range(iterations):
        active = active[(b[active] - a[active]) > tolerance]
        if active.size == 0:
            break
        aa, bb, ffa, ffb = a[active], b[active], fa[active], fb[active]
        denominator = ffb - ffa
        safe = np.where(denominator != 0, denominator, 1.0)
        guess = np.where(denominator != 0, bb - ffb * (bb - aa) / safe, 0.5 * (aa + bb))
        # A guess stuck at an end (flat function) falls back to bisection.
        stuck = ~((guess > aa) & (guess < bb))
        guess = np.where(stuck, 0.5 * (aa + bb), guess)
        value = function(active, guess)
        last[active] = guess
        same_as_low = np.sign(value) == np.sign(ffa)
        # Replace the end on the guess's side; halve the kept end's value when the same end
        # is kept twice (Illinois), so convergence is never one-sided.
        keep_high = same_as_low
        a[active] = np.where(keep_high, guess, aa)
        fa[active] = np.where(keep_high, value, np.where(side[active] == -1, ffa * 0.5, ffa))
        b[active] = np.where(keep_high, bb, guess)
        fb[active] = np.where(keep_high, np.where(side[active] == 1, ffb * 0.5, ffb), value)
        side[active] = np.where(keep_high, 1, -1)
        exact = value == 0
        a[active[exact]] = guess[exact]
        b[active[exact]] = guess[exact]
    return last

"""Cubic Hermite pieces between propagated samples, and horizon crossings on them.

SGP4 gives each sample's velocity, so a cubic through two samples a couple of minutes apart
stays within metres of the orbit: root refinement needs no further propagation.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tessera.core.space.frames import FloatArray

IntArray = npt.NDArray[np.int64]


class Pieces:
    """One cubic per row: positions and velocities (each shaped (3, rows)) at both ends of a
    ``step``-second span starting at ``t0``; the site each row is seen from and its up."""

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

    def subset(self, rows: IntArray) -> Pieces:
        """The pieces of ``rows`` alone, gathered once (for many evaluations of them)."""
        return Pieces(
            self.t0[rows],
            self.step,
            (self.p0[:, rows], self.v0[:, rows], self.p1[:, rows], self.v1[:, rows]),
            self.site[:, rows],
            self.up[:, rows],
        )

    def _weights(self, t: FloatArray, rows: IntArray | slice) -> tuple[FloatArray, ...]:
        s = (t - self.t0[rows]) / self.step
        s2 = s * s
        s3 = s2 * s
        return s, s2, s3

    def position(self, t: FloatArray, rows: IntArray | slice) -> FloatArray:
        """Position at ``t`` of each of ``rows``, shaped (3, rows)."""
        s, s2, s3 = self._weights(t, rows)
        h = self.step
        result: FloatArray = (
            (2 * s3 - 3 * s2 + 1) * self.p0[:, rows]
            + (s3 - 2 * s2 + s) * h * self.v0[:, rows]
            + (-2 * s3 + 3 * s2) * self.p1[:, rows]
            + (s3 - s2) * h * self.v1[:, rows]
        )
        return result

    def velocity(self, t: FloatArray, rows: IntArray | slice) -> FloatArray:
        s, s2, _ = self._weights(t, rows)
        h = self.step
        result: FloatArray = (
            (6 * s2 - 6 * s) / h * self.p0[:, rows]
            + (3 * s2 - 4 * s + 1) * self.v0[:, rows]
            + (-6 * s2 + 6 * s) / h * self.p1[:, rows]
            + (3 * s2 - 2 * s) * self.v1[:, rows]
        )
        return result

    def acceleration(self, t: FloatArray, rows: IntArray | slice) -> FloatArray:
        s, _, _ = self._weights(t, rows)
        h = self.step
        result: FloatArray = (
            (12 * s - 6) / (h * h) * (self.p0[:, rows] - self.p1[:, rows])
            + (6 * s - 4) / h * self.v0[:, rows]
            + (6 * s - 2) / h * self.v1[:, rows]
        )
        return result

    def elevation_sine(self, t: FloatArray, rows: IntArray | slice) -> FloatArray:
        """Sine of the elevation above the site's horizon."""
        return elevation_sine(self.position(t, rows) - self.site[:, rows], self.up[:, rows])

    def rising(self, t: FloatArray, rows: IntArray | slice) -> FloatArray:
        """A quantity with the sign of the elevation's rate (zero at culmination)."""
        sight = self.position(t, rows) - self.site[:, rows]
        return elevation_rate_sign(sight, self.velocity(t, rows), self.up[:, rows])


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    result: FloatArray = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    return result


def elevation_sine(line_of_sight: FloatArray, up: FloatArray) -> FloatArray:
    """Sine of the elevation of lines of sight shaped (3, n) against up vectors (it orders
    and crosses the mask as the elevation does, without an arcsine per sample)."""
    result: FloatArray = _dot(line_of_sight, up) / np.sqrt(_dot(line_of_sight, line_of_sight))
    return result


def elevation_rate_sign(
    line_of_sight: FloatArray, velocity: FloatArray, up: FloatArray
) -> FloatArray:
    """d/dt (d·u/|d|) times |d|³: (v·u)|d|² - (d·u)(d·v), for (3, n) arrays."""
    result: FloatArray = _dot(velocity, up) * _dot(line_of_sight, line_of_sight) - _dot(
        line_of_sight, up
    ) * _dot(line_of_sight, velocity)
    return result


def crossing_times(
    pieces: Pieces,
    rows: IntArray,
    ends: tuple[FloatArray, FloatArray],
    values: tuple[FloatArray, FloatArray],
    slopes: tuple[FloatArray, FloatArray],
    level: float,
    *,
    iterations: int = 2,
) -> FloatArray:
    """When the elevation's sine crosses ``level`` inside each bracket (its ends, the sine
    minus ``level`` and its rate there): the root of the cubic through those, then Newton
    steps on the orbit's own cubic, kept inside the bracket."""
    low, high = ends
    f0, f1 = values
    h = high - low
    d0, d1 = slopes[0] * h, slopes[1] * h
    part, every = pieces.subset(rows), slice(None)
    s = np.clip(f0 / np.where(f0 != f1, f0 - f1, 1.0), 0.0, 1.0)
    for _ in range(4):
        s2 = s * s
        value = (
            (2 * s2 * s - 3 * s2 + 1) * f0
            + (s2 * s - 2 * s2 + s) * d0
            + (-2 * s2 * s + 3 * s2) * f1
            + (s2 * s - s2) * d1
        )
        slope = (6 * s2 - 6 * s) * f0 + (3 * s2 - 4 * s + 1) * d0
        slope += (-6 * s2 + 6 * s) * f1 + (3 * s2 - 2 * s) * d1
        s = np.clip(s - value / np.where(slope != 0, slope, 1.0), 0.0, 1.0)
    t = low + s * h
    for _ in range(iterations):
        sight = part.position(t, every) - part.site
        norm2 = _dot(sight, sight)
        value = _dot(sight, part.up) / np.sqrt(norm2) - level
        rate = elevation_rate_sign(sight, part.velocity(t, every), part.up) / norm2**1.5
        t = np.clip(t - value / np.where(rate != 0, rate, 1.0), low, high)
    return t


def sine_rate(sight: FloatArray, velocity: FloatArray, up: FloatArray) -> FloatArray:
    """How fast the elevation's sine changes (per second), for (3, n) arrays."""
    result: FloatArray = elevation_rate_sign(sight, velocity, up) / _dot(sight, sight) ** 1.5
    return result

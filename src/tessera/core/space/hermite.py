"""Cubic Hermite pieces between propagated samples, and the elevation of lines of sight.

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

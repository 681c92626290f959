"""The line of sight from a site to a satellite on one cubic piece, as polynomials in the
piece's fraction s (0 to 1): its component along the site's up (a cubic, A) and its squared
length (a sextic, B). The elevation's sine is A / √B, and its rate has the sign of
G = A'B - AB'/2, so refining rises, sets and culminations is scalar arithmetic on a dozen
numbers a row instead of vector algebra on gathered states."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tessera.core.space.frames import FloatArray
from tessera.core.space.hermite import Pieces

IntArray = npt.NDArray[np.int64]


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    result: FloatArray = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    return result


def _horner(coefficients: FloatArray, s: FloatArray) -> FloatArray:
    """Polynomials (lowest power first, shaped (degree + 1, n)) at ``s``."""
    value: FloatArray = coefficients[-1].copy()
    for coefficient in coefficients[-2::-1]:
        value *= s
        value += coefficient
    return value


def _derivative(coefficients: FloatArray) -> FloatArray:
    powers = np.arange(1, coefficients.shape[0], dtype=float)[:, None]
    result: FloatArray = coefficients[1:] * powers
    return result


class SightPolynomials:
    """A and B (see the module) of each row, over pieces starting at ``t0`` lasting ``step``."""

    def __init__(self, t0: FloatArray, step: float, up: FloatArray, norm2: FloatArray) -> None:
        self.t0 = t0
        self.step = step
        self.up = up
        self.norm2 = norm2

    @classmethod
    def of(cls, pieces: Pieces) -> SightPolynomials:
        h = pieces.step
        c0 = pieces.p0 - pieces.site
        c1 = h * pieces.v0
        c2 = 3.0 * (pieces.p1 - pieces.p0) - h * (2.0 * pieces.v0 + pieces.v1)
        c3 = 2.0 * (pieces.p0 - pieces.p1) + h * (pieces.v0 + pieces.v1)
        up = np.stack([_dot(c, pieces.up) for c in (c0, c1, c2, c3)])
        norm2 = np.stack(
            (
                _dot(c0, c0),
                2.0 * _dot(c0, c1),
                _dot(c1, c1) + 2.0 * _dot(c0, c2),
                2.0 * (_dot(c0, c3) + _dot(c1, c2)),
                _dot(c2, c2) + 2.0 * _dot(c1, c3),
                2.0 * _dot(c2, c3),
                _dot(c3, c3),
            )
        )
        return cls(pieces.t0, h, up, norm2)

    def subset(self, rows: IntArray) -> SightPolynomials:
        return SightPolynomials(self.t0[rows], self.step, self.up[:, rows], self.norm2[:, rows])

    def fraction(self, t: FloatArray) -> FloatArray:
        result: FloatArray = (t - self.t0) / self.step
        return result

    def sine(self, s: FloatArray) -> FloatArray:
        """Sine of the elevation at fractions ``s``."""
        result: FloatArray = _horner(self.up, s) / np.sqrt(_horner(self.norm2, s))
        return result

    def ends(self) -> tuple[tuple[FloatArray, ...], tuple[FloatArray, ...]]:
        """At the start and at the end of each piece: the elevation's sine, its rate per
        second and G (the polynomials' values there are their first and summed terms)."""
        powers_a = np.arange(self.up.shape[0], dtype=float)[:, None]
        powers_b = np.arange(self.norm2.shape[0], dtype=float)[:, None]
        found = []
        for a, a1, b, b1 in (
            (self.up[0], self.up[1], self.norm2[0], self.norm2[1]),
            (
                self.up.sum(axis=0),
                (self.up * powers_a).sum(axis=0),
                self.norm2.sum(axis=0),
                (self.norm2 * powers_b).sum(axis=0),
            ),
        ):
            g = a1 * b - 0.5 * a * b1
            root = np.sqrt(b)
            found.append((a / root, g / (b * root * self.step), g))
        return found[0], found[1]

    def culminations(self, g0: FloatArray, g1: FloatArray, *, iterations: int = 2) -> FloatArray:
        """Fractions where each row's elevation peaks, given G at both ends (positive at the
        start, not at the end). G is linear in time for a satellite moving in a straight line,
        so its linear interpolation is a close first guess; Newton steps on G converge."""
        s = g0 / np.where(g0 != g1, g0 - g1, 1.0)
        da, db = _derivative(self.up), _derivative(self.norm2)
        dda, ddb = _derivative(da), _derivative(db)
        for _ in range(iterations):
            a, b = _horner(self.up, s), _horner(self.norm2, s)
            a1, b1 = _horner(da, s), _horner(db, s)
            g = a1 * b - 0.5 * a * b1
            slope = _horner(dda, s) * b + 0.5 * a1 * b1 - 0.5 * a * _horner(ddb, s)
            s = np.clip(s - g / np.where(slope != 0, slope, -1.0), 0.0, 1.0)
        return s

    def crossings(
        self,
        ends: tuple[FloatArray, FloatArray],
        values: tuple[FloatArray, FloatArray],
        slopes: tuple[FloatArray, FloatArray],
        level: float,
        *,
        iterations: int = 2,
    ) -> FloatArray:
        """Fractions where the elevation's sine crosses ``level`` inside each bracket (its
        ends as fractions, the sine minus ``level`` and its rate per second there): the root
        of the cubic through those, then Newton steps on the orbit's own cubic."""
        low, high = ends
        f0, f1 = values
        width = high - low
        d0, d1 = slopes[0] * width * self.step, slopes[1] * width * self.step
        u = np.clip(f0 / np.where(f0 != f1, f0 - f1, 1.0), 0.0, 1.0)
        for _ in range(4):
            u2 = u * u
            value = (
                (2 * u2 * u - 3 * u2 + 1) * f0
                + (u2 * u - 2 * u2 + u) * d0
                + (-2 * u2 * u + 3 * u2) * f1
                + (u2 * u - u2) * d1
            )
            slope = (6 * u2 - 6 * u) * f0 + (3 * u2 - 4 * u + 1) * d0
            slope += (-6 * u2 + 6 * u) * f1 + (3 * u2 - 2 * u) * d1
            u = np.clip(u - value / np.where(slope != 0, slope, 1.0), 0.0, 1.0)
        s = low + u * width
        da, db = _derivative(self.up), _derivative(self.norm2)
        for _ in range(iterations):
            a, b = _horner(self.up, s), _horner(self.norm2, s)
            root = np.sqrt(b)
            # d(A/√B)/ds = G / B^1.5
            rate = (_horner(da, s) * b - 0.5 * a * _horner(db, s)) / (b * root)
            s = np.clip(s - (a / root - level) / np.where(rate != 0, rate, 1.0), low, high)
        return s

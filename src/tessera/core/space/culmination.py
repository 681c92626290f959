"""Culminations: where the elevation stops rising inside a bracket, found at once for every
bracket by a fixed number of Newton steps (no loop per pass, no bracket bookkeeping)."""

from __future__ import annotations

import numpy as np

from tessera.core.space.frames import FloatArray
from tessera.core.space.hermite import Pieces


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    result: FloatArray = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    return result


def culmination_times(
    pieces: Pieces,
    ends: tuple[FloatArray, FloatArray],
    rates: tuple[FloatArray, FloatArray],
    *,
    iterations: int = 3,
) -> FloatArray:
    """When the elevation peaks on each of ``pieces`` (every row a bracket: its ends and
    :func:`elevation_rate_sign` there, positive at the start and not at the end). That
    quantity is linear in time for a satellite moving in a straight line, so its linear
    interpolation is a close first guess and Newton steps on the orbit's cubic (which gives
    the derivative too) converge in a few steps; kept inside the bracket."""
    low, high = ends
    g0, g1 = rates
    t = low + (high - low) * g0 / np.where(g0 != g1, g0 - g1, 1.0)
    every = slice(None)
    for _ in range(iterations):
        sight = pieces.position(t, every) - pieces.site
        velocity = pieces.velocity(t, every)
        acceleration = pieces.acceleration(t, every)
        up = pieces.up
        sight_up, velocity_up = _dot(sight, up), _dot(velocity, up)
        sight_velocity, norm2 = _dot(sight, velocity), _dot(sight, sight)
        # g = (v·u)|d|² - (d·u)(d·v) has the sign of the elevation's rate; g' by the chain
        # rule with d' = v and v' = a.
        g = velocity_up * norm2 - sight_up * sight_velocity
        slope = (
            _dot(acceleration, up) * norm2
            + velocity_up * sight_velocity
            - sight_up * (_dot(velocity, velocity) + _dot(sight, acceleration))
        )
        t = np.clip(t - g / np.where(slope != 0, slope, -1.0), low, high)
    return t

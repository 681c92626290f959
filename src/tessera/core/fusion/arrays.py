"""The kinematic state of every track as a struct of arrays, one row per track.

Rows are reused once a track is dropped, and the arrays grow by doubling, so predicting,
gating and sweeping all tracks are a handful of NumPy operations whatever their number.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar, cast

import numpy as np
import numpy.typing as npt

from tessera.core.fusion.identity import CLASSES, UNIFORM
from tessera.core.model import TrackStatus

# Codes as stored (checkpoints keep them): a new status takes the next code.
STATUS_CODES: Final = (
    TrackStatus.TENTATIVE,
    TrackStatus.CONFIRMED,
    TrackStatus.COASTING,
    TrackStatus.DEAD,
    TrackStatus.STALE,
)
TENTATIVE, CONFIRMED, COASTING, DEAD, STALE = range(5)

# Which side a declaration in force has pinned its track to (see declarations.py).
UNPINNED, PINNED_FRIENDLY, PINNED_HOSTILE = -1, 0, 1

_FIRST_CAPACITY: Final = 1024
# Where each track was, sampled every HISTORY_STEP_S, oldest first (NaN: no sample yet), so
# reports that arrive late can be placed against where the track was when they were seen.
HISTORY_STEP_S: Final = 30.0
HISTORY_SAMPLES: Final = 128
# Friend, neutral, hostile, unidentified.
IDENTITY_CLASSES: Final = len(CLASSES)

ArrayT = TypeVar("ArrayT", bound=npt.NDArray[Any])


def _extended(array: ArrayT, capacity: int) -> ArrayT:
    bigger = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    bigger[: array.shape[0]] = array
    return cast(ArrayT, bigger)


class TrackArrays:
    """Positions (degrees), velocities (m/s), covariances (m), times (epoch s), codes."""

    def __init__(self, capacity: int = _FIRST_CAPACITY) -> None:
        self.capacity = 0
        self.lat = np.zeros(0)
        self.lon = np.zeros(0)
        self.vel = np.zeros((0, 2))
        self.cov = np.zeros((0, 4, 4))
        # Time of the kinematic state, and of the latest evidence of any kind.
        self.t = np.zeros(0)
        # Time the shown uncertainty is grown to (a silent track's grows as it ages).
        self.shown_at = np.zeros(0)
        self.seen = np.zeros(0)
        self.dead_since = np.zeros(0)
        # Until when a declaration holds the track (NaN: not held).
        self.held_until = np.zeros(0)
        # The motion models (imm.py): each one's offset (m) from the track's position and
        # velocity, covariance, probability.
        self.model_means = np.zeros((0, 2, 4))
        self.model_covs = np.zeros((0, 2, 4, 4))
        self.model_probs = np.zeros((0, 2))
        self.history = np.zeros((0, HISTORY_SAMPLES, 4))
        self.motion = np.zeros(0, dtype=np.int8)
        self.side = np.zeros(0, dtype=np.int8)
        self.status = np.zeros(0, dtype=np.int8)
        self.alive = np.zeros(0, dtype=bool)
        # Derived from each record's identity belief (never stored: a checkpoint rebuilds
        # them): the class probabilities a report's stated identity is weighed against
        # (``identity_gate``), and whether a declaration's identity is in force.
        self.belief = np.zeros((0, IDENTITY_CLASSES))
        self.declared = np.zeros(0, dtype=np.int8)
        self._free: list[int] = []
        self._grow(capacity)

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        self.lat = _extended(self.lat, capacity)
        self.lon = _extended(self.lon, capacity)
        self.vel = _extended(self.vel, capacity)
        self.cov = _extended(self.cov, capacity)
        self.t = _extended(self.t, capacity)
        self.shown_at = _extended(self.shown_at, capacity)
        self.seen = _extended(self.seen, capacity)
        self.dead_since = _extended(self.dead_since, capacity)
        self.held_until = _extended(self.held_until, capacity)
        self.model_means = _extended(self.model_means, capacity)
        self.model_covs = _extended(self.model_covs, capacity)
        self.model_probs = _extended(self.model_probs, capacity)
        self.history = _extended(self.history, capacity)
        self.motion = _extended(self.motion, capacity)
        self.side = _extended(self.side, capacity)
        self.status = _extended(self.status, capacity)
        self.alive = _extended(self.alive, capacity)
        self.belief = _extended(self.belief, capacity)
        self.declared = _extended(self.declared, capacity)
        # Hand out low rows first, so row order follows creation order.
        self._free.extend(range(capacity - 1, old - 1, -1))
        self.capacity = capacity

    def allocate(self) -> int:
        if not self._free:
            self._grow(self.capacity * 2)
        row = self._free.pop()
        self.alive[row] = True
        self.side[row] = UNPINNED
        self.status[row] = TENTATIVE
        self.held_until[row] = np.nan
        self.history[row] = np.nan
        self.belief[row] = UNIFORM
        self.declared[row] = 0
        return row

    def release(self, row: int) -> None:
        self.alive[row] = False
        self._free.append(row)

    def live_rows(self) -> npt.NDArray[np.intp]:
        """Rows of tracks that can still take reports (not dead)."""
        return np.flatnonzero(self.alive & (self.status != DEAD))

    def sample_history(self, rows: npt.NDArray[np.intp]) -> None:
        """Append each row's current position to its history, dropping the oldest."""
        history = self.history
        history[rows, :-1] = history[rows, 1:]
        history[rows, -1, 0] = self.t[rows]
        history[rows, -1, 1] = self.lat[rows]
        history[rows, -1, 2] = self.lon[rows]
        history[rows, -1, 3] = self.position_variance(rows)

    def past_positions(
        self, rows: npt.NDArray[np.intp], t: npt.NDArray[np.float64]
    ) -> tuple[
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
    ]:
        """Where each row was at ``t`` (before its current state time), linear between
        history samples: latitudes, longitudes, per-axis variances, and whether the
        history reaches back that far."""
        times = self.history[rows, :, 0]
        later = np.count_nonzero(times > t[:, None], axis=1)
        before = HISTORY_SAMPLES - 1 - later
        known = before >= 0
        before = np.maximum(before, 0)
        first = self.history[rows, before]
        known &= ~np.isnan(first[:, 0])
        has_next = later > 0
        following = self.history[rows, np.minimum(before + 1, HISTORY_SAMPLES - 1)]
        current = np.stack(
            (self.t[rows], self.lat[rows], self.lon[rows], self.position_variance(rows)), axis=1
        )
        second = np.where(has_next[:, None], following, current)
        span = np.maximum(second[:, 0] - first[:, 0], 1e-9)
        share = np.clip((t - first[:, 0]) / span, 0.0, 1.0)
        lat = first[:, 1] + share * (second[:, 1] - first[:, 1])
        lon = first[:, 2] + share * (second[:, 2] - first[:, 2])
        variance = np.maximum(first[:, 3], second[:, 3])
        return lat, lon, variance, known

    def position_variance(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """Mean per-axis position variance of each row's current state."""
        return np.asarray(0.5 * (self.cov[rows, 0, 0] + self.cov[rows, 1, 1]))

"""Initiator and deleter: how tracks are born, confirmed, coast, die and are dropped."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from tessera.core.fusion import compiled, imm
from tessera.core.fusion.arrays import (
    COASTING,
    CONFIRMED,
    DEAD,
    HISTORY_STEP_S,
    STALE,
    STATUS_CODES,
    TENTATIVE,
    UNPINNED,
)
from tessera.core.fusion.declarations import declaration_of
from tessera.core.fusion.geo import velocity_components
from tessera.core.fusion.motion import (
    PROFILES,
    STILL_FACTOR,
    STILL_SPEED,
    motion_class,
    motion_code,
)
from tessera.core.fusion.record import TrackRecord, axis_variance, hostile_side
from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.fusion.table import TrackTable
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Report

# How often (s of the journal's clock) a silent track's shown uncertainty is grown.
GROW_STEP_S: Final = 30.0
# What the sweep does to a track, as flags (sweep_kernel writes the same).
DIES, COASTS, STALES, REGROWS, GONE, SAMPLES, HOLD_ENDED = 1, 2, 4, 8, 16, 32, 64


class Lifecycle:
    def __init__(
        self,
        table: TrackTable,
        settings: FusionSettings,
        scheme: ClassificationScheme,
        stats: FusionStats,
    ) -> None:
        self._table = table
        self._settings = settings
        self._scheme = scheme
        self._stats = stats
        # The status each row's declaration in force states, set once its step settles.
        self._stated: dict[int, int] = {}

    def initiate(self, track_id: str, report: Report, t: float) -> TrackRecord:
        """A tentative track from one report, its state time ``t`` (the report's own)."""
        table = self._table
        arrays = table.arrays
        row = arrays.allocate()
        record = TrackRecord(track_id, row, report, self._settings.lineage_window)
        motion = motion_class(report.sidc, report.source.kind)
        code = motion_code(motion)
        arrays.motion[row] = code
        self.reset_kinematics(row, report, t)
        arrays.seen[row] = t
        arrays.dead_since[row] = math.nan
        table.add(record)
        self.absorb(record, report, t)
        self._stats.initiated += 1
        return record

    def reset_kinematics(self, row: int, report: Report, t: float) -> None:
        arrays = self._table.arrays
        arrays.lat[row] = report.position.lat
        arrays.lon[row] = report.position.lon
        variance = axis_variance(report)
        cov = np.zeros((4, 4))
        cov[0, 0] = cov[1, 1] = variance
        if report.velocity is not None:
            arrays.vel[row] = velocity_components(report.velocity.course, report.velocity.speed)
            speed_var = self._settings.velocity_sd**2
        else:
            arrays.vel[row] = 0.0
            # Unknown velocity: anything up to the class's top speed.
            speed_var = (PROFILES[motion_class(report.sidc, report.source.kind)].max_speed / 2) ** 2
        cov[2, 2] = cov[3, 3] = speed_var
        arrays.cov[row] = cov
        arrays.t[row] = t
        arrays.shown_at[row] = t
        arrays.model_means[row, :, :2] = 0.0
        arrays.model_means[row, :, 2:] = arrays.vel[row]
        arrays.model_covs[row] = cov
        arrays.model_probs[row] = imm.PRIOR

    def absorb(self, record: TrackRecord, report: Report, t: float) -> None:
        """Everything but kinematics, then the status the evidence now supports."""
        enough = self.absorb_evidence(record, report)
        self.settle_one(record.row, t, enough)

    def absorb_evidence(self, record: TrackRecord, report: Report) -> bool:
        """The record's part of absorbing a report; ``settle`` does the arrays' part."""
        table = self._table
        sidc_before = record.sidc
        declaration = declaration_of(report, table.clock)
        enough, in_force = record.absorb(report, self._scheme, declaration)
        table.sync_belief(record)
        arrays = table.arrays
        if record.sidc is not sidc_before and record.sidc is not None:
            arrays.motion[record.row] = motion_code(motion_class(record.sidc, report.source.kind))
        if in_force and declaration is not None:
            arrays.held_until[record.row] = declaration.hold
            if report.status is not None:
                self._stated[record.row] = STATUS_CODES.index(report.status)
        pinned = record.belief.authoritative
        if pinned is not None:
            arrays.side[record.row] = int(hostile_side(pinned))
        table.touch(record)
        return enough

    def settle(
        self,
        rows: npt.NDArray[np.intp],
        seen: npt.NDArray[np.float64],
        enough: npt.NDArray[np.bool_],
    ) -> None:
        """Evidence time and confirmation for distinct ``rows`` at once: a track still
        fresh is confirmed by enough evidence, and a coasting or stale one by any."""
        table = self._table
        arrays = table.arrays
        arrays.seen[rows] = np.maximum(arrays.seen[rows], seen)
        coast_after = table.profiles.coast_after[arrays.motion[rows]]
        held = arrays.held_until[rows] > table.clock
        fresh = (table.clock - arrays.seen[rows] <= coast_after) | held
        status = arrays.status[rows]
        confirm = rows[fresh & (enough | (status == COASTING) | (status == STALE))]
        arrays.status[confirm] = CONFIRMED
        arrays.dead_since[confirm] = math.nan
        if self._stated:
            self._take_stated_statuses()

    def settle_one(self, row: int, seen: float, enough: bool) -> None:
        """``settle`` for one row, on floats (most micro-batches hold one report)."""
        table = self._table
        arrays = table.arrays
        latest = float(arrays.seen[row])
        if seen > latest:
            arrays.seen[row] = latest = seen
        coast_after = float(table.profiles.coast_after[arrays.motion[row]])
        fresh = table.clock - latest <= coast_after or float(arrays.held_until[row]) > table.clock
        if fresh and (enough or int(arrays.status[row]) in (COASTING, STALE)):
            arrays.status[row] = CONFIRMED
            arrays.dead_since[row] = math.nan
        if self._stated:
            self._take_stated_statuses()

    def _take_stated_statuses(self) -> None:
        """A declaration in force that states its track's status is taken as stated (a
        headquarters' file saying a unit is dead): over what the evidence would say."""
        arrays = self._table.arrays
        for row, status in self._stated.items():
            arrays.status[row] = status
            arrays.dead_since[row] = self._table.clock if status == DEAD else math.nan
        self._stated.clear()

    def sweep(self, now: float) -> None:
        """Age every track to ``now`` (a whole second of the journal's clock)."""
        table = self._table
        arrays = table.kinematics()
        rows = np.flatnonzero(arrays.alive)
        if rows.size == 0:
            return
        flags = (
            self._sweep_flags_compiled(rows, now)
            if compiled.COMPILED
            else self._sweep_flags(rows, now)
        )
        changed = np.flatnonzero(flags)
        if changed.size == 0:
            return
        rows, flags = rows[changed], flags[changed]
        # (Most seconds some tracks are shown grown or sampled, and none dies or goes.)
        present = int(np.bitwise_or.reduce(flags))

        def flagged(bit: int) -> list[int]:
            if not present & bit:
                return []
            picked: list[int] = rows[(flags & bit) != 0].tolist()
            return picked

        ended = flagged(HOLD_ENDED)
        if ended:
            self._end_holds(ended, now)
        for row in flagged(DIES):
            arrays.status[row] = DEAD
            arrays.dead_since[row] = now
            table.touch(table.record_at(row))
        for row in flagged(COASTS):
            arrays.status[row] = COASTING
        for row in flagged(STALES):
            arrays.status[row] = STALE
        # A track's shown uncertainty grows with its state's age, a step at a time, and a
        # shown track is shown where its own motion has carried it by then (a held
        # declaration says where its thing is until its validity ends).
        grown = (flags & (REGROWS | COASTS | STALES)) != 0
        for row, bits in zip(rows[grown].tolist(), flags[grown].tolist(), strict=True):
            arrays.shown_at[row] = now
            if bits & (COASTS | STALES):
                table.touch(table.record_at(row))
            else:
                table.touch_shown(table.record_at(row))
        for row in flagged(GONE):
            table.drop(table.record_at(row))
        sampled = flagged(SAMPLES)
        if sampled:
            arrays.sample_history(np.array(sampled, dtype=np.intp))

    def _sweep_flags(self, rows: npt.NDArray[np.intp], now: float) -> npt.NDArray[np.uint8]:
        """What the sweep does to each of ``rows`` (the flags above), from their state
        before it does any of it."""
        table = self._table
        arrays = table.arrays
        profiles = table.profiles
        held_until = arrays.held_until[rows]
        ended = held_until <= now  # (NaN, not held, is neither ended nor held)
        # A held declaration never coasts, dies or is dropped before its validity ends.
        free = ~(held_until > now)
        status = arrays.status[rows]
        motion = arrays.motion[rows]
        age = now - arrays.seen[rows]
        dt = np.maximum(now - arrays.t[rows], 0.0)
        cov = arrays.cov[rows]
        variance = (
            0.5 * (cov[:, 0, 0] + cov[:, 1, 1])
            + dt * (cov[:, 0, 2] + cov[:, 1, 3])
            + 0.5 * dt * dt * (cov[:, 2, 2] + cov[:, 3, 3])
            + imm.mixed_q(profiles.q[motion], arrays.model_probs[rows, 0]) * dt**3 / 3.0
        )
        vague = variance > profiles.max_sd[motion] ** 2
        silent = (status == COASTING) | (status == STALE)
        dies = (
            (status != DEAD)
            & free
            & (
                (age > profiles.dead_after[motion])
                | ((status == TENTATIVE) & (age > profiles.tentative_for[motion]))
                | (silent & vague)
            )
        )
        shown = (status == CONFIRMED) | (status == COASTING)
        still = np.hypot(arrays.vel[rows, 0], arrays.vel[rows, 1]) < STILL_SPEED
        stale_after = profiles.stale_after[motion] * np.where(still, STILL_FACTOR, 1.0)
        stales = shown & (age > stale_after) & ~dies & free
        coasts = (
            (status == CONFIRMED) & (age > profiles.coast_after[motion]) & ~dies & ~stales & free
        )
        grown_to = np.maximum(arrays.shown_at[rows], arrays.t[rows])
        regrow = ((shown & free) | silent | stales) & ~dies & (now - grown_to >= GROW_STEP_S)
        gone = (
            (status == DEAD)
            & free
            & (now - arrays.dead_since[rows] > self._settings.drop_dead_after)
        )
        # The newest sample's time (NaN before the first one) says when to take the next.
        newest = arrays.history[rows, -1, 0]
        sample = (status != DEAD) & ~(arrays.t[rows] - newest < HISTORY_STEP_S)
        flags = np.zeros(rows.size, dtype=np.uint8)
        for mask, bit in (
            (dies, DIES),
            (coasts, COASTS),
            (stales, STALES),
            (regrow, REGROWS),
            (gone, GONE),
            (sample, SAMPLES),
            (ended, HOLD_ENDED),
        ):
            flags[mask] |= bit
        return flags

    def _sweep_flags_compiled(
        self, rows: npt.NDArray[np.intp], now: float
    ) -> npt.NDArray[np.uint8]:
        """``_sweep_flags`` by ``sweep_kernel``."""
        arrays = self._table.arrays
        profiles = self._table.profiles
        flags = np.empty(rows.size, dtype=np.uint8)
        compiled.sweep_kernel.sweep_flags(
            rows,
            arrays.held_until,
            arrays.status,
            arrays.motion,
            arrays.seen,
            arrays.t,
            arrays.cov,
            arrays.model_probs,
            arrays.vel,
            arrays.shown_at,
            arrays.dead_since,
            arrays.history,
            profiles.q,
            profiles.max_sd,
            profiles.dead_after,
            profiles.tentative_for,
            profiles.stale_after,
            profiles.coast_after,
            now,
            STILL_SPEED,
            STILL_FACTOR,
            GROW_STEP_S,
            self._settings.drop_dead_after,
            HISTORY_STEP_S,
            flags,
        )
        return flags

    def _end_holds(self, ended: list[int], now: float) -> None:
        """End the holds of rows ``ended`` (their validity is over by ``now``), and the
        identities they declared: from here they age from their last report, as any."""
        table = self._table
        arrays = table.arrays
        for row in ended:
            arrays.held_until[row] = math.nan
            record = table.record_at(row)
            if record.belief.expire(now):
                arrays.side[row] = UNPINNED
                table.sync_belief(record)
            table.touch(record)

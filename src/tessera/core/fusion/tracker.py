"""First fusion engine: keyed association, then nearest neighbour within each report's error.

Reports are applied one at a time in journal order, so the picture depends only on the
journal, never on how it was cut into batches. Each track is a constant-velocity
alpha-beta (steady-state Kalman) filter in local metric coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

import msgspec

from tessera.core.fusion.base import StepResult, Tracker
from tessera.core.fusion.geo import course_speed, moved, offset_metres, velocity_components
from tessera.core.fusion.grid import Grid
from tessera.core.fusion.motion import PROFILES, motion_class
from tessera.core.fusion.state import TrackState, report_variance
from tessera.core.labels import ClassificationScheme
from tessera.core.model import (
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Track,
    TrackStatus,
    Velocity,
)
from tessera.core.symbols import generic_sidc, with_identity

# Chi-square, 2 degrees of freedom, 99%: a report this far out is not the track.
GATE_CHI2: Final = 9.21
MAX_SOURCES_SHOWN: Final = 16


class TrackerSettings(msgspec.Struct, frozen=True, kw_only=True):
    lineage_window: int = 200
    drop_dead_after: float = 300.0
    late_tolerance: float = 2.0
    search_margin_m: float = 2_000.0


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _is_self_report(report: Report) -> bool:
    return report.subject is not None and report.source.kind is SourceKind.UNIT


def _hostile_side(identity: Identity) -> bool:
    return identity in (Identity.HOSTILE, Identity.SUSPECT)


class NearestNeighbourTracker(Tracker):
    """Keyed association by subject, then nearest neighbour within a chi-square gate."""

    def __init__(
        self, scheme: ClassificationScheme, settings: TrackerSettings | None = None
    ) -> None:
        self._scheme = scheme
        self._settings = settings or TrackerSettings()
        self._tracks: dict[str, TrackState] = {}
        self._by_subject: dict[str, str] = {}
        self._grid = Grid()
        self._clock = -math.inf
        self._swept_second = -math.inf
        self._dirty: dict[str, None] = {}
        self._removed: set[str] = set()

    # -- Tracker interface -------------------------------------------------------------

    def step(self, now: datetime, reports: Sequence[Report]) -> StepResult:
        for report in reports:
            received = report.received_at or report.observed_at
            self._advance(_epoch(received))
            self._apply(report)
        self._advance(_epoch(now))
        updated = [self._snapshot(self._tracks[tid]) for tid in self._dirty if tid in self._tracks]
        removed = sorted(tid for tid in self._removed if tid not in self._tracks)
        self._dirty.clear()
        self._removed.clear()
        return StepResult(updated=updated, removed=removed)

    def tracks(self) -> Iterable[Track]:
        return [self._snapshot(state) for state in self._tracks.values()]

    def track(self, track_id: str) -> Track | None:
        state = self._tracks.get(track_id)
        return None if state is None else self._snapshot(state)

    # -- association -------------------------------------------------------------------

    def _apply(self, report: Report) -> None:
        t = _epoch(report.observed_at)
        state: TrackState | None
        if report.subject is not None:
            state = self._keyed(report, t)
        else:
            state = self._nearest(report, t)
            if state is None:
                state = self._initiate(f"trk-{report.id}", report, t)
        late = t < state.t - self._settings.late_tolerance
        if not late:
            self._update_kinematics(state, report, t)
        self._absorb(state, report, t)
        self._dirty[state.id] = None

    def _keyed(self, report: Report, t: float) -> TrackState:
        assert report.subject is not None
        track_id = self._by_subject.get(report.subject)
        if track_id is not None:
            return self._tracks[track_id]
        state = self._initiate(f"sub-{report.subject}", report, t)
        self._by_subject[report.subject] = state.id
        return state

    def _initiate(self, track_id: str, report: Report, t: float) -> TrackState:
        motion = motion_class(report.sidc, report.source.kind)
        state = TrackState(track_id, report, t, motion)
        self._tracks[track_id] = state
        self._grid.add(track_id, state.lat, state.lon)
        self._removed.discard(track_id)
        return state

    def _nearest(self, report: Report, t: float) -> TrackState | None:
        report_var = report_variance(report)
        radius = 3.1 * math.sqrt(report_var) + self._settings.search_margin_m
        best: TrackState | None = None
        best_cost = math.inf
        for track_id in self._grid.near(report.position.lat, report.position.lon, radius):
            state = self._tracks[track_id]
            if state.status is TrackStatus.DEAD or not self._compatible(state, report):
                continue
            lat, lon, var = self._predict(state, t)
            east, north = offset_metres(lat, lon, report.position.lat, report.position.lon)
            spread = var + report_var
            distance2 = (east * east + north * north) / spread
            if distance2 > GATE_CHI2:
                continue
            # Likelihood cost: a vague track must not win over a precise one just by size.
            cost = distance2 + math.log(spread)
            if cost < best_cost or (cost == best_cost and best is not None and state.id < best.id):
                best, best_cost = state, cost
        return best

    @staticmethod
    def _compatible(state: TrackState, report: Report) -> bool:
        # A unit's own report of being friendly outweighs any sighting of a hostile near it.
        pinned = state.belief.authoritative
        return pinned is None or _hostile_side(pinned) == _hostile_side(report.identity)

    # -- filter ------------------------------------------------------------------------

    def _predict(self, state: TrackState, t: float) -> tuple[float, float, float]:
        dt = t - state.t
        if dt == 0.0:
            return state.lat, state.lon, state.var
        lat, lon = moved(state.lat, state.lon, state.ve * dt, state.vn * dt)
        accel = PROFILES[state.motion].accel
        var = state.var + state.vvar * dt * dt + (0.5 * accel * dt * dt) ** 2
        return lat, lon, var

    def _update_kinematics(self, state: TrackState, report: Report, t: float) -> None:
        dt = max(t - state.t, 0.0)
        lat, lon, var_p = self._predict(state, t)
        report_var = report_variance(report)
        east, north = offset_metres(lat, lon, report.position.lat, report.position.lon)
        if report.subject is not None and (east * east + north * north) > GATE_CHI2 * (
            var_p + report_var
        ):
            # A keyed report says where that very thing is: far outside the gate, the
            # track was wrong (stale, or the subject jumped), so start again from the report.
            self._reset_kinematics(state, report, t)
            return
        gain = var_p / (var_p + report_var)
        state.lat, state.lon = moved(lat, lon, gain * east, gain * north)
        state.var = (1.0 - gain) * var_p
        profile = PROFILES[state.motion]
        if report.velocity is not None:
            state.ve, state.vn = velocity_components(report.velocity.course, report.velocity.speed)
            state.vvar = max(4.0, (profile.accel * 2.0) ** 2)
        elif dt >= 1.0:
            # Alpha-beta filter: the velocity gain that goes with a position gain (Kalata).
            beta = 2.0 * (2.0 - gain) - 4.0 * math.sqrt(max(1.0 - gain, 0.0))
            state.ve += beta * east / dt
            state.vn += beta * north / dt
            speed = math.hypot(state.ve, state.vn)
            if speed > profile.max_speed:
                scale = profile.max_speed / speed
                state.ve *= scale
                state.vn *= scale
            state.vvar = max((1.0 - beta) * state.vvar + profile.accel**2, profile.accel**2)
        if report.position.alt is not None:
            state.alt = report.position.alt
        state.t = t
        self._grid.move(state.id, state.lat, state.lon)

    def _reset_kinematics(self, state: TrackState, report: Report, t: float) -> None:
        state.lat, state.lon = report.position.lat, report.position.lon
        state.alt = report.position.alt
        state.var = report_variance(report)
        if report.velocity is not None:
            state.ve, state.vn = velocity_components(report.velocity.course, report.velocity.speed)
            state.vvar = 4.0
        else:
            state.ve = state.vn = 0.0
            state.vvar = (PROFILES[state.motion].max_speed / 2.0) ** 2
        state.t = t
        self._grid.move(state.id, state.lat, state.lon)

    # -- everything but kinematics -----------------------------------------------------

    def _absorb(self, state: TrackState, report: Report, t: float) -> None:
        if _is_self_report(report):
            state.belief.pin(report.identity)
        else:
            state.belief.observe(report.identity, report.grading)
        state.seen = max(state.seen, t)
        state.count += 1
        if report.grading.reliability in "ABC":
            state.reliable_hits += 1
        state.lineage.append(report.id)
        if len(state.lineage) > self._settings.lineage_window:
            state.lineage.popleft()
        state.sources.pop(report.source.id, None)
        state.sources[report.source.id] = report.source.kind
        if len(state.sources) > MAX_SOURCES_SHOWN:
            del state.sources[next(iter(state.sources))]
        if report.quantity is not None:
            state.quantity = report.quantity
        self._absorb_symbol(state, report)
        self._absorb_label(state, report.label)
        fresh = self._clock - state.seen <= PROFILES[state.motion].coast_after
        enough = (
            _is_self_report(report)
            or state.count >= 3
            or (state.count >= 2 and state.reliable_hits >= 1)
        )
        if fresh and (enough or state.status is TrackStatus.COASTING):
            state.status = TrackStatus.CONFIRMED
            state.dead_since = None

    @staticmethod
    def _absorb_symbol(state: TrackState, report: Report) -> None:
        rank = "ABCDEF".index(report.grading.reliability) * 10 + report.grading.credibility
        if _is_self_report(report):
            rank = -1
        if rank <= state.sidc_rank:
            state.grading = report.grading
            state.sidc_rank = rank
            if report.sidc is not None:
                state.sidc = report.sidc
                state.motion = motion_class(report.sidc, report.source.kind)

    def _absorb_label(self, state: TrackState, label: Label) -> None:
        # What a track shows is derived from every report in it: the highest level, and
        # only the communities every one of them is releasable to.
        if self._scheme.rank(label.classification) > self._scheme.rank(state.label_level):
            state.label_level = label.classification
        state.label_rel = state.label_rel & frozenset(label.releasable_to)

    # -- ageing ------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        if now > self._clock:
            self._clock = now
        second = math.floor(self._clock)
        if second > self._swept_second:
            self._swept_second = second
            self._sweep(self._clock)

    def _sweep(self, now: float) -> None:
        drop_after = self._settings.drop_dead_after
        for state in list(self._tracks.values()):
            profile = PROFILES[state.motion]
            age = now - state.seen
            status = state.status
            if status is TrackStatus.DEAD:
                if state.dead_since is not None and now - state.dead_since > drop_after:
                    self._drop(state)
                continue
            if age > profile.dead_after or (
                status is TrackStatus.TENTATIVE and age > profile.coast_after
            ):
                new_status = TrackStatus.DEAD
                state.dead_since = now
            elif age > profile.coast_after:
                new_status = TrackStatus.COASTING
            else:
                continue
            if new_status is not status:
                state.status = new_status
                self._dirty[state.id] = None

    def _drop(self, state: TrackState) -> None:
        del self._tracks[state.id]
        self._grid.remove(state.id)
        if state.subject is not None and self._by_subject.get(state.subject) == state.id:
            del self._by_subject[state.subject]
        self._dirty.pop(state.id, None)
        self._removed.add(state.id)

    # -- output ------------------------------------------------------------------------

    def _snapshot(self, state: TrackState) -> Track:
        identity, confidence = state.belief.estimate()
        sidc = state.sidc or generic_sidc(identity)
        moving = math.hypot(state.ve, state.vn) > 0.0
        velocity = Velocity(*course_speed(state.ve, state.vn)) if moving else None
        return Track(
            id=state.id,
            position=Position(
                lat=state.lat, lon=state.lon, alt=state.alt, ce=max(math.sqrt(state.var), 0.1)
            ),
            velocity=velocity,
            identity=identity,
            identity_confidence=round(confidence, 4),
            sidc=with_identity(sidc, identity),
            status=state.status,
            first_at=state.first_at,
            updated_at=datetime.fromtimestamp(state.t, UTC),
            subject=state.subject,
            quantity=state.quantity,
            grading=state.grading,
            label=Label(state.label_level, tuple(sorted(state.label_rel))),
            sources=tuple(Source(id=sid, kind=kind) for sid, kind in state.sources.items()),
            lineage=tuple(state.lineage),
            report_count=state.count,
        )

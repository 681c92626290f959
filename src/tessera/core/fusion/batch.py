"""One micro-batch: keyed association, gating and assignment, vectorised updates,
initiation, and late reports placed by history."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.core.fusion.association import GatedPairs, assign
from tessera.core.fusion.declarations import holds_at
from tessera.core.fusion.gating import (
    GATE_CHI2,
    Detection,
    Detections,
    gate,
    gate_late,
    gate_one,
)
from tessera.core.fusion.geo import earth_xyz
from tessera.core.fusion.identity_gate import statement_of
from tessera.core.fusion.lifecycle import Lifecycle
from tessera.core.fusion.motion import PROFILES, motion_class
from tessera.core.fusion.record import Scan, TrackRecord, axis_variance, hostile_side, scan_of
from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.fusion.table import TrackTable
from tessera.core.fusion.update import UpdateRound
from tessera.core.model import Report

Pair = tuple[TrackRecord, Report]


def _t(report: Report) -> float:
    return report.observed_at.timestamp()


def scans(reports: Sequence[Report]) -> list[Scan]:
    return [scan_of(report) for report in reports]


def without_taken_scans(gated: GatedPairs, scans: list[Scan], table: TrackTable) -> GatedPairs:
    """The pairs whose track has not already taken a report of the same scan in an
    earlier micro-batch: a scan split by the batching still gives a track one report."""
    if gated.report.size == 0:
        return gated
    by_row = table.by_row
    kept = [
        scans[index] not in by_row[row].scans
        for index, row in zip(gated.report.tolist(), gated.row.tolist(), strict=True)
    ]
    if all(kept):
        return gated
    keep = np.array(kept, dtype=bool)
    return GatedPairs(gated.report[keep], gated.row[keep], gated.cost[keep], gated.distance2[keep])


def _first_free(rows: list[int], scan: Scan, table: TrackTable) -> TrackRecord | None:
    """Of ``rows`` (cheapest first), the first track that has not taken a report of
    ``scan``: ``assign`` of ``without_taken_scans`` for a micro-batch of one report."""
    by_row = table.by_row
    for row in rows:
        record = by_row[row]
        if scan not in record.scans:
            return record
    return None


def detection_of(report: Report) -> Detection:
    statement = statement_of(report)
    return Detection(
        report.position.lat,
        report.position.lon,
        _t(report),
        axis_variance(report),
        int(hostile_side(report.identity)),
        statement.likelihood,
        statement.unbelieved,
    )


def detections_of(reports: Sequence[Report]) -> Detections:
    statements = [statement_of(report) for report in reports]
    return Detections(
        lat=np.fromiter((r.position.lat for r in reports), np.float64, len(reports)),
        lon=np.fromiter((r.position.lon for r in reports), np.float64, len(reports)),
        t=np.fromiter((_t(r) for r in reports), np.float64, len(reports)),
        variance=np.fromiter((axis_variance(r) for r in reports), np.float64, len(reports)),
        side=np.fromiter((hostile_side(r.identity) for r in reports), np.int8, len(reports)),
        statement=np.array([statement.likelihood for statement in statements]),
        unbelieved=np.array([statement.unbelieved for statement in statements]),
    )


# Up to this many new reports, every distance between them is measured: cheaper than a
# k-d tree, and SciPy's spatial module is not even imported (a fifth of a second).
_BRUTE_FORCE_POINTS = 64


def _within(points: np.ndarray, radius: np.ndarray) -> list[list[int]]:
    """For each point, the points within its ``radius`` (itself included)."""
    if len(points) <= _BRUTE_FORCE_POINTS:
        apart2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        near = apart2 <= (radius**2)[:, None]
        return [np.flatnonzero(row).tolist() for row in near]
    # SciPy is imported where it is needed: most micro-batches of a live feed are a
    # commit or two, and `tessera fuse` should not start up slower for them.
    from scipy.spatial import cKDTree

    found: list[list[int]] = cKDTree(points).query_ball_point(points, radius)
    return found


class MicroBatch:
    def __init__(
        self,
        table: TrackTable,
        lifecycle: Lifecycle,
        settings: FusionSettings,
        stats: FusionStats,
    ) -> None:
        self._table = table
        self._lifecycle = lifecycle
        self._settings = settings
        self._stats = stats
        self._update = UpdateRound(table, lifecycle, settings, stats)

    def apply(self, batch_time: float, reports: Sequence[Report]) -> None:
        table = self._table
        self._stats.reports += len(reports)
        keyed: list[Pair] = []
        recent: list[Report] = []
        late: list[Report] = []
        short_lag = self._settings.short_lag
        for report in reports:
            if report.retraction:
                keyed = self._retract(report, keyed)
                continue
            if report.subject is None:
                (recent if batch_time - _t(report) <= short_lag else late).append(report)
                continue
            self._stats.keyed += 1
            record = table.record_for_subject(report.subject)
            if record is None:
                self._lifecycle.initiate(f"sub-{report.subject}", report, _t(report))
            else:
                keyed.append((record, report))
        if keyed:
            self._update.run(keyed, keyed=True)
        if recent:
            self._update.run(self._associate(recent, batch_time))
        if late:
            self._place_late(late, batch_time)

    def _retract(self, retraction: Report, keyed: list[Pair]) -> list[Pair]:
        """Drop the track of the retraction's subject, with what this micro-batch had for
        it so far (journal order: what comes after the retraction starts anew)."""
        self._stats.retracted += 1
        subject = retraction.subject
        record = None if subject is None else self._table.record_for_subject(subject)
        if record is None:
            return keyed
        self._table.drop(record)
        return [pair for pair in keyed if pair[0] is not record]

    # -- anonymous reports -------------------------------------------------------------

    def _associate(self, reports: list[Report], batch_time: float) -> list[Pair]:
        if not reports:
            return []
        if len(reports) == 1:
            return self._associate_one(reports[0], batch_time)
        table = self._table
        detections = detections_of(reports)
        arrays = table.kinematics()
        gated = gate(
            arrays,
            arrays.live_rows(),
            table.profiles.q,
            detections,
            batch_time,
            self._settings.search_margin_m,
        )
        chosen = self._assign(gated, reports)
        self._stats.associated += len(chosen)
        taken = {index for index, _ in chosen}
        ordered = [(index, table.record_at(row)) for index, row in chosen]
        left = [index for index in range(len(reports)) if index not in taken]
        ordered.extend(self._initiate(left, reports, detections))
        ordered.sort(key=lambda item: item[0])
        return [(record, reports[index]) for index, record in ordered]

    def _associate_one(self, report: Report, batch_time: float) -> list[Pair]:
        """``_associate`` of a micro-batch of one report (most are)."""
        table = self._table
        margin = self._settings.search_margin_m
        rows = gate_one(
            table.kinematics(), table.profiles, detection_of(report), batch_time, margin, late=False
        )
        record = _first_free(rows, scan_of(report), table)
        if record is None:
            self._lifecycle.initiate(f"trk-{report.id}", report, _t(report))
            return []
        self._stats.associated += 1
        return [(record, report)]

    def _assign(self, gated: GatedPairs, reports: list[Report]) -> list[tuple[int, int]]:
        """(report index, track row) assignments of the gated pairs whose track has not
        taken a report of the same scan yet."""
        report_scans = scans(reports)
        gated = without_taken_scans(gated, report_scans, self._table)
        return assign(gated, report_scans, len(reports))

    def _initiate(
        self, left: list[int], reports: list[Report], detections: Detections
    ) -> list[tuple[int, TrackRecord]]:
        """New tracks from unassociated reports. Reports of different sources that gate
        with each other in the same micro-batch start one track, not one each."""
        if not left:
            return []
        if len(left) == 1:
            report = reports[left[0]]
            self._lifecycle.initiate(f"trk-{report.id}", report, _t(report))
            return []
        index = np.array(left, dtype=np.intp)
        variance = detections.variance[index]
        points = earth_xyz(detections.lat[index], detections.lon[index])
        radius = np.sqrt(GATE_CHI2 * (variance + variance.max()))
        neighbours = _within(points, radius)
        founders: dict[int, tuple[TrackRecord, set[tuple[str, float]]]] = {}
        followers: list[tuple[int, TrackRecord]] = []
        for local, report_index in enumerate(left):
            report = reports[report_index]
            best: tuple[float, int] | None = None
            for other in sorted(neighbours[local]):
                if other >= local or other not in founders:
                    continue
                if scan_of(report) in founders[other][1]:
                    continue
                gap = points[local] - points[other]
                distance2 = float(gap @ gap) / float(variance[local] + variance[other])
                if distance2 <= GATE_CHI2 and (best is None or distance2 < best[0]):
                    best = (distance2, other)
            if best is None:
                record = self._lifecycle.initiate(f"trk-{report.id}", report, _t(report))
                founders[local] = (record, {scan_of(report)})
            else:
                record, sources = founders[best[1]]
                sources.add(scan_of(report))
                followers.append((report_index, record))
        return followers

    # -- late reports --------------------------------------------------------------------

    def _place_late(self, reports: list[Report], batch_time: float) -> None:
        """Reports observed long before they arrived: gated against where each track was
        at that time (its history). A report much older than its track's state only
        confirms it; one that is not updates it as of its own time, never as if new."""
        if len(reports) == 1:
            self._place_late_one(reports[0], batch_time)
            return
        table = self._table
        detections = detections_of(reports)
        arrays = table.kinematics()
        rows = arrays.live_rows()
        # The fastest kind of thing in the picture bounds how far a track has come since.
        fastest = float(table.profiles.max_speed[arrays.motion[rows]].max(initial=0.0))
        gated = gate_late(arrays, rows, table.profiles.q, fastest, detections, batch_time)
        chosen = self._assign(gated, reports)
        taken = {index for index, _ in chosen}
        # Late for the picture is not always late for the track: a report newer than its
        # track's state (or only a little older) still updates it, at its own time.
        self._update.run([(table.record_at(row), reports[index]) for index, row in chosen])
        for index, report in enumerate(reports):
            if index not in taken:
                self._unplaced(report, batch_time)

    def _place_late_one(self, report: Report, batch_time: float) -> None:
        """``_place_late`` of one report (most are)."""
        table = self._table
        margin = self._settings.search_margin_m
        rows = gate_one(
            table.kinematics(), table.profiles, detection_of(report), batch_time, margin, late=True
        )
        record = _first_free(rows, scan_of(report), table)
        if record is None:
            self._unplaced(report, batch_time)
        else:
            self._update.run([(record, report)])

    def _unplaced(self, report: Report, batch_time: float) -> None:
        """A late report no track takes: a track of its own, if it is recent enough."""
        motion = motion_class(report.sidc, report.source.kind)
        recent = batch_time - _t(report) <= PROFILES[motion].dead_after
        if recent or holds_at(report, batch_time):
            self._lifecycle.initiate(f"trk-{report.id}", report, _t(report))
        else:
            # Too old to say where a thing of its kind is now: it stays in the journal,
            # and is counted, but starts no track.
            self._stats.too_old += 1

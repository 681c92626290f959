"""The same reports through a Stone Soup 1.9.1 tracker, written as a picture file.

A baseline for Tessera's own fusion: reports.jsonl (one canonical report a line, in received
order) goes through a textbook Stone Soup multi-target tracker, one scan per received second,
and every ``every`` seconds of the received clock the tracker's tracks are written to
picture.jsonl as GeoJSON Features.

    python benchmarks/stonesoup_baseline.py --in reports.jsonl --out picture.jsonl --every 10
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import numpy as np

# Stone Soup 1.9.1 emits no warnings at import, so nothing here needs silencing.
from scipy.spatial import cKDTree
from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
from stonesoup.deleter.time import UpdateTimeDeleter
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.initiator.simple import MultiMeasurementInitiator
from stonesoup.measures import Mahalanobis
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
    ConstantVelocity,
)
from stonesoup.predictor.kalman import KalmanPredictor
from stonesoup.types.detection import Detection
from stonesoup.types.state import GaussianState
from stonesoup.types.update import Update
from stonesoup.updater.kalman import KalmanUpdater

from tessera.core.fusion.geo import METRES_PER_DEGREE_LAT, METRES_PER_DEGREE_LON_EQUATOR

# Ground vehicles change speed or heading by about 1 m/s within a few seconds; q = 1 m²/s³
# lets the velocity wander by ~1 m/s per √s, enough to follow a turning vehicle without
# widening the gates so much that neighbours in a 50 m-spaced column swap tracks.
NOISE_DIFFUSION = 1.0
# Prior velocity spread: road speeds are within ±20 m/s (72 km/h), so 10 m/s is one sigma.
PRIOR_SPEED_SIGMA = 10.0
MISSED_DISTANCE = 3.0  # Mahalanobis gate: three sigmas
DELETE_AFTER = timedelta(seconds=120)
# A tentative track with no second detection within a minute was most likely clutter.
DELETE_TENTATIVE_AFTER = timedelta(seconds=60)
# States kept per track beyond the last detection-bearing update: the Kalman filter only needs
# the latest state, and a long run would otherwise keep every state of every track.
KEEP_STATES = 4
LINEAGE_LIMIT = 200
UNKNOWN_SIDC = "10000000000000000000"
# Coarse pre-gate of the k-d tree associator (metres): wider than three sigmas of any but
# the vaguest open-source report, so it only prunes pairs the Mahalanobis gate would reject.
PREGATE_M = 5_000.0


class KDTreeGNN2DPerDetectionNoise(DetectionKDTreeGNN2D):  # type: ignore[misc]
    """Stone Soup's k-d tree GNN with 2-D assignment, which refuses detections that carry
    different measurement models. Ours do (each report its own error), and all measure
    position, so the tree is queried with each track's predicted position instead of its
    predicted measurement; the hypothesiser then judges each pair with its own model.
    Without the pre-gate every track meets every detection and a scan of a few hundred
    reports against a few hundred tracks takes seconds."""

    def generate_hypotheses(
        self, tracks: Any, detections: Any, timestamp: Any, **kwargs: Any
    ) -> dict[Any, Any]:
        if not tracks or not detections:
            return {
                track: self.hypothesiser.hypothesise(track, detections, timestamp, **kwargs)
                for track in tracks
            }
        listed = list(detections)
        tree = cKDTree(np.vstack([detection.state_vector[:, 0] for detection in listed]))
        hypotheses = {}
        for track in tracks:
            predicted = self.predictor.predict(track, timestamp=timestamp, **kwargs)
            near = tree.query_ball_point(
                np.array([predicted.state_vector[0, 0], predicted.state_vector[2, 0]]),
                r=self.max_distance,
            )
            candidates = {listed[index] for index in near}
            hypotheses[track] = self.hypothesiser.hypothesise(
                track, candidates, timestamp, **kwargs
            )
        return hypotheses


@dataclass(frozen=True)
class BaselineRun:
    reports: int
    seconds: float  # wall time spent inside the tracker, excluding file reading/writing
    snapshots: int
    cpu_seconds: float = 0.0  # the same, as CPU time


@dataclass(frozen=True)
class LocalPlane:
    """Equirectangular projection about a fixed reference point, in metres east and north."""

    lat0: float
    lon0: float

    @property
    def metres_per_degree_lon(self) -> float:
        return METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(self.lat0))

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (
            (lon - self.lon0) * self.metres_per_degree_lon,
            (lat - self.lat0) * METRES_PER_DEGREE_LAT,
        )

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        return self.lon0 + x / self.metres_per_degree_lon, self.lat0 + y / METRES_PER_DEGREE_LAT


@dataclass
class TrackSummary:
    """What the picture says about one Stone Soup track beyond its state vector."""

    number: int
    lineage: deque[str] = field(default_factory=lambda: deque(maxlen=LINEAGE_LIMIT))
    identities: Counter[str] = field(default_factory=Counter)
    report_count: int = 0
    sidc: str | None = None
    updated_at: datetime = datetime.min

    def record(self, detection: Any) -> None:
        metadata = detection.metadata
        self.lineage.append(metadata["report_id"])
        self.report_count += 1
        if metadata["identity"] != "unknown":
            self.identities[metadata["identity"]] += 1
        if metadata["sidc"] is not None:
            self.sidc = metadata["sidc"]
        # Late reports arrive out of order: the track is as recent as its newest observation.
        self.updated_at = max(self.updated_at, detection.timestamp)


def iso(moment: datetime) -> str:
    """RFC 3339 with a trailing Z for a naive UTC datetime."""
    return moment.isoformat() + "Z"


def naive_utc(text: str) -> datetime:
    """Stone Soup compares timestamps with naive datetimes, so every time is naive UTC here."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def epoch_seconds(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


class StoneSoupTracker:
    """Stone Soup components driven in MultiTargetTracker's order, plus picture bookkeeping."""

    def __init__(self) -> None:
        transition_model = CombinedLinearGaussianTransitionModel(
            [ConstantVelocity(NOISE_DIFFUSION), ConstantVelocity(NOISE_DIFFUSION)]
        )
        predictor = KalmanPredictor(transition_model)
        # No updater-wide measurement model: each Detection brings its own (its report's CE).
        self.updater = KalmanUpdater(measurement_model=None)
        hypothesiser = DistanceHypothesiser(
            predictor, self.updater, measure=Mahalanobis(), missed_distance=MISSED_DISTANCE
        )
        self.associator = KDTreeGNN2DPerDetectionNoise(
            hypothesiser, predictor, self.updater, max_distance=PREGATE_M
        )
        self.deleter = UpdateTimeDeleter(time_since_update=DELETE_AFTER)
        # Position comes from the first detection; the prior only supplies the velocity spread.
        prior = GaussianState(
            np.zeros((4, 1)), np.diag([0.0, PRIOR_SPEED_SIGMA**2, 0.0, PRIOR_SPEED_SIGMA**2])
        )
        self.initiator = MultiMeasurementInitiator(
            prior_state=prior,
            deleter=UpdateTimeDeleter(time_since_update=DELETE_TENTATIVE_AFTER),
            data_associator=KDTreeGNN2DPerDetectionNoise(
                hypothesiser, predictor, self.updater, max_distance=PREGATE_M
            ),
            updater=self.updater,
            min_points=2,
        )
        self.tracks: set[Any] = set()
        self.summaries: dict[Any, TrackSummary] = {}
        self.plane: LocalPlane | None = None
        self.confirmed = 0

    def detection(self, report: dict[str, Any]) -> Any:
        position = report["position"]
        if self.plane is None:
            self.plane = LocalPlane(position["lat"], position["lon"])
        x, y = self.plane.to_xy(position["lat"], position["lon"])
        # CE is a circular error radius; per axis that is ce/√2 (never zero, or the
        # covariance would be singular).
        sigma = max(float(position.get("ce") or 50.0), 1.0) / math.sqrt(2.0)
        model = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=np.diag([sigma**2] * 2))
        return Detection(
            np.array([[x], [y]]),
            timestamp=naive_utc(report["observed_at"]),
            measurement_model=model,
            metadata={
                "report_id": report["id"],
                "identity": report.get("identity") or "unknown",
                "sidc": report.get("sidc"),
            },
        )

    def scan(self, scan_time: datetime, reports: list[dict[str, Any]]) -> None:
        detections = {self.detection(report) for report in reports}
        associated = set()
        for track, hypothesis in self.associator.associate(
            self.tracks, detections, scan_time
        ).items():
            if hypothesis:
                track.append(self.updater.update(hypothesis))
                associated.add(hypothesis.measurement)
                self.summaries[track].record(hypothesis.measurement)
            else:
                track.append(hypothesis.prediction)
            prune(track)
        for track in self.deleter.delete_tracks(self.tracks):
            self.tracks.discard(track)
            del self.summaries[track]
        born = self.initiator.initiate(detections - associated, scan_time)
        # The initiator hands tracks back as a set; number them in a stable order.
        for track in sorted(born, key=first_report_id):
            self.confirmed += 1
            summary = TrackSummary(self.confirmed)
            for state in filter(is_detection_update, track.states):
                summary.record(state.hypothesis.measurement)
            self.summaries[track] = summary
            self.tracks.add(track)
            prune(track)

    def features(self) -> list[dict[str, Any]]:
        features: list[dict[str, Any]] = []
        if self.plane is None:
            return features
        for track, summary in sorted(self.summaries.items(), key=lambda item: item[1].number):
            vector = track.state_vector
            lon, lat = self.plane.to_lonlat(float(vector[0, 0]), float(vector[2, 0]))
            identity, count = ("unknown", 0)
            if summary.identities:
                identity, count = summary.identities.most_common(1)[0]
            track_id = f"ss-{summary.number}"
            features.append(
                {
                    "type": "Feature",
                    "id": track_id,
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        "id": track_id,
                        "status": "confirmed",
                        "identity": identity,
                        "identity_confidence": round(count / summary.report_count, 4),
                        "sidc": summary.sidc or UNKNOWN_SIDC,
                        "updated_at": iso(summary.updated_at),
                        "report_count": summary.report_count,
                        "lineage": list(summary.lineage),
                    },
                }
            )
        return features


def is_detection_update(state: Any) -> bool:
    return isinstance(state, Update) and bool(state.hypothesis)


def first_report_id(track: Any) -> str:
    return str(track.states[0].hypothesis.measurement.metadata["report_id"])


def prune(track: Any) -> None:
    """Drop old states so memory stays bounded, but keep the latest detection-bearing update:
    UpdateTimeDeleter looks for it, and losing it would delete a coasting track early."""
    states = track.states
    excess = len(states) - KEEP_STATES
    if excess <= 0:
        return
    last_update = next(
        (i for i in reversed(range(len(states))) if is_detection_update(states[i])), excess
    )
    cut = min(excess, last_update)
    if cut > 0:
        del states[:cut]
        # Track keeps one metadata dict per state; it must stay in step with the states.
        del track.metadatas[:cut]


def scans(lines: TextIO) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Reports grouped by received second, streamed.

    A scan labelled T holds the reports received in (T-1, T], so a snapshot at T taken after
    that scan reflects exactly the reports received at or before T. A report out of received
    order joins the scan being gathered rather than reopening a past one.
    """
    current: int | None = None
    batch: list[dict[str, Any]] = []
    for line in lines:
        if not line.strip():
            continue
        report = json.loads(line)
        received = naive_utc(report.get("received_at") or report["observed_at"])
        second = math.ceil(epoch_seconds(received))
        if current is not None and second > current:
            yield current, batch
            batch = []
        current = second if current is None else max(current, second)
        batch.append(report)
    if current is not None:
        yield current, batch


def run_baseline(
    reports_path: Path, picture_path: Path, every: float = 10.0, progress: bool = False
) -> BaselineRun:
    # Scans are whole received seconds, so only whole-second snapshot times can reflect
    # exactly the reports received before them.
    if every < 1 or every != int(every):
        raise ValueError(f"every must be a whole number of seconds, not {every}")
    step = int(every)
    tracker = StoneSoupTracker()
    reports = snapshots = 0
    tracker_seconds = tracker_cpu = 0.0
    next_snapshot: int | None = None
    started = time.perf_counter()

    with reports_path.open(encoding="utf-8") as source, picture_path.open("w") as picture:

        def write_snapshot(moment: int) -> None:
            nonlocal snapshots
            line = {
                "time": datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z"),
                "tracks": tracker.features(),
            }
            picture.write(json.dumps(line, separators=(",", ":")) + "\n")
            snapshots += 1

        for second, batch in scans(source):
            if next_snapshot is None:
                next_snapshot = -(-second // step) * step
            while next_snapshot < second:
                write_snapshot(next_snapshot)
                next_snapshot += step
            scan_time = datetime.fromtimestamp(second, UTC).replace(tzinfo=None)
            began, began_cpu = time.perf_counter(), time.process_time()
            tracker.scan(scan_time, batch)
            tracker_seconds += time.perf_counter() - began
            tracker_cpu += time.process_time() - began_cpu
            reports += len(batch)
            if progress and reports // 1000 != (reports - len(batch)) // 1000:
                print(
                    f"{iso(scan_time)} {reports:,} reports, {len(tracker.tracks)} tracks, "
                    f"{reports / tracker_seconds:,.0f}/s in the tracker, "
                    f"{time.perf_counter() - started:,.0f} s elapsed",
                    file=sys.stderr,
                )
        if next_snapshot is not None:
            # Every scan is in, and next_snapshot is the first multiple at or after the last.
            write_snapshot(next_snapshot)
    return BaselineRun(
        reports=reports, seconds=tracker_seconds, snapshots=snapshots, cpu_seconds=tracker_cpu
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--in", dest="reports", type=Path, required=True, help="reports.jsonl")
    parser.add_argument("--out", dest="picture", type=Path, required=True, help="picture.jsonl")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between snapshots")
    parser.add_argument("--progress", action="store_true", help="report progress on stderr")
    args = parser.parse_args()
    run = run_baseline(args.reports, args.picture, args.every, args.progress)
    rate = run.reports / run.seconds if run.seconds > 0 else float("inf")
    print(f"reports    {run.reports:,}")
    print(f"seconds    {run.seconds:,.2f}")
    print(f"reports/s  {rate:,.0f}")
    print(f"snapshots  {run.snapshots:,}")


if __name__ == "__main__":
    main()

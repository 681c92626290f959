"""Score a recorded run of fused pictures against ground truth.

A picture snapshot is scored when the truth file has a line at exactly the same instant;
other picture snapshots are skipped and counted. Within a scored snapshot:

* tracks count only when "confirmed" or "coasting": tentative and dead tracks are not in
  the operational picture, and a stale one shows only where something was last known
  (the map dims it), not a claim of where it is now;
* a truth object counts only once at least one report about it was received at or before
  the snapshot's time, since an object nobody has reported yet cannot be in any picture.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import msgspec

from tessera.scoring.files import (
    PictureSnapshot,
    Sources,
    TrackFeature,
    TruthObject,
    TruthSnapshot,
    read_picture,
    read_sources,
    read_truth,
    sources_next_to,
)
from tessera.scoring.gospa import DEFAULT_ALPHA, DEFAULT_CUTOFF_M, DEFAULT_ORDER, gospa

SCORED_STATUSES = frozenset({"confirmed", "coasting"})
CONFIRMED = "confirmed"
# Identities that put a track on the same side as the truth; unknown and pending are on none
# (right only about a truth on none).
SIDE_OF_IDENTITY: Mapping[str, str] = {
    "friend": "friend",
    "assumed-friend": "friend",
    "hostile": "hostile",
    "suspect": "hostile",
    "neutral": "neutral",
}


class SnapshotScore(msgspec.Struct, frozen=True):
    time: datetime
    gospa: float  # metres
    localisation: float  # m² (sum of squared errors of matched pairs, for p = 2)
    missed_part: float
    false_part: float
    missed: int
    false: int
    truths: int  # scored truths: reported at or before this time
    tracks: int  # scored tracks: confirmed or coasting
    purity: float | None  # mean over tracks with a known lineage; None when there are none
    identity_matched: int  # GOSPA-matched pairs
    identity_correct: int  # of which the track's identity is on the truth's side
    identity_accuracy: float | None  # None when nothing was matched
    switches: int  # matched track ids that differ from the truth's previous one


class OverallScore(msgspec.Struct, frozen=True):
    snapshots: int  # scored
    skipped: int  # picture snapshots with no truth line at their time
    mean_gospa: float | None  # means over scored snapshots; None when none was scored
    mean_localisation: float | None
    mean_missed_part: float | None
    mean_false_part: float | None
    mean_missed: float | None
    mean_false: float | None
    mean_purity: float | None  # over snapshots that have a purity
    identity_accuracy: float | None  # pooled over every matched pair of the run
    identity_matched: int
    identity_switches: int
    mean_time_to_confirm_s: float | None  # over truths that were matched to a confirmed track
    confirmed_truths: int
    never_confirmed: int  # scored at least once, never matched to a confirmed track


class Score(msgspec.Struct, frozen=True):
    snapshots: tuple[SnapshotScore, ...]
    overall: OverallScore


def same_side(track_identity: str, truth_identity: str) -> bool:
    """Whether a track's identity is right about its truth: on the truth's side, or, for a
    truth whose side nobody knows (unknown), claiming none either."""
    return SIDE_OF_IDENTITY.get(track_identity) == SIDE_OF_IDENTITY.get(truth_identity)


def track_purity(lineage: Iterable[str], truth_of_report: Mapping[str, str | None]) -> float | None:
    """Share of a track's known reports that are about its most common truth.

    Reports missing from the sources are left out. False reports (about no truth) stay in
    the count but are never the pure class, so a track built only from them scores 0.
    None when no report of the lineage is known.
    """
    classes: Counter[str | None] = Counter()
    for report in lineage:
        if report in truth_of_report:
            classes[truth_of_report[report]] += 1
    known = classes.total()
    if known == 0:
        return None
    real = [count for truth, count in classes.items() if truth is not None]
    return max(real, default=0) / known


class RunScorer:
    """Scores snapshots in time order, keeping what spans the run: which track each truth
    was last matched to (for identity switches) and when it was first confirmed."""

    def __init__(
        self,
        sources: Sources,
        *,
        cutoff_m: float = DEFAULT_CUTOFF_M,
        order: float = DEFAULT_ORDER,
        alpha: float = DEFAULT_ALPHA,
    ) -> None:
        self.sources = sources
        self.cutoff_m = cutoff_m
        self.order = order
        self.alpha = alpha
        self.last_track: dict[str, str] = {}
        self.time_to_confirm_s: dict[str, float] = {}
        self.scored_truths: set[str] = set()

    def score_snapshot(self, truth: TruthSnapshot, picture: PictureSnapshot) -> SnapshotScore:
        truths = self.reported_truths(truth)
        tracks = [track for track in picture.tracks if track.properties.status in SCORED_STATUSES]
        result = gospa(
            [(obj.lat, obj.lon) for obj in truths],
            [(track.lat, track.lon) for track in tracks],
            cutoff_m=self.cutoff_m,
            order=self.order,
            alpha=self.alpha,
        )
        correct = switches = 0
        for pair in result.assignment:
            obj, track = truths[pair.truth], tracks[pair.track]
            correct += same_side(track.properties.identity, obj.identity)
            switches += self._note_match(obj, track, truth.time)
        self.scored_truths.update(obj.id for obj in truths)
        matched = len(result.assignment)
        return SnapshotScore(
            time=truth.time,
            gospa=result.gospa,
            localisation=result.localisation,
            missed_part=result.missed_part,
            false_part=result.false_part,
            missed=result.missed,
            false=result.false,
            truths=len(truths),
            tracks=len(tracks),
            purity=self._mean_purity(tracks),
            identity_matched=matched,
            identity_correct=correct,
            identity_accuracy=correct / matched if matched else None,
            switches=switches,
        )

    def reported_truths(self, truth: TruthSnapshot) -> list[TruthObject]:
        first = self.sources.first_received
        return [obj for obj in truth.objects if obj.id in first and first[obj.id] <= truth.time]

    def overall(self, snapshots: Sequence[SnapshotScore], skipped: int) -> OverallScore:
        matched = sum(s.identity_matched for s in snapshots)
        correct = sum(s.identity_correct for s in snapshots)
        delays = list(self.time_to_confirm_s.values())
        return OverallScore(
            snapshots=len(snapshots),
            skipped=skipped,
            mean_gospa=_mean(s.gospa for s in snapshots),
            mean_localisation=_mean(s.localisation for s in snapshots),
            mean_missed_part=_mean(s.missed_part for s in snapshots),
            mean_false_part=_mean(s.false_part for s in snapshots),
            mean_missed=_mean(s.missed for s in snapshots),
            mean_false=_mean(s.false for s in snapshots),
            mean_purity=_mean(s.purity for s in snapshots if s.purity is not None),
            identity_accuracy=correct / matched if matched else None,
            identity_matched=matched,
            identity_switches=sum(s.switches for s in snapshots),
            mean_time_to_confirm_s=_mean(delays),
            confirmed_truths=len(delays),
            never_confirmed=len(self.scored_truths - self.time_to_confirm_s.keys()),
        )

    def _note_match(self, obj: TruthObject, track: TrackFeature, time: datetime) -> int:
        """Remember the match; 1 if it is an identity switch, else 0."""
        previous = self.last_track.get(obj.id)
        self.last_track[obj.id] = track.track_id
        if track.properties.status == CONFIRMED and obj.id not in self.time_to_confirm_s:
            first = self.sources.first_received[obj.id]
            self.time_to_confirm_s[obj.id] = (time - first).total_seconds()
        return int(previous is not None and previous != track.track_id)

    def _mean_purity(self, tracks: Iterable[TrackFeature]) -> float | None:
        truth_of_report = self.sources.truth_of_report
        purities = (track_purity(track.properties.lineage, truth_of_report) for track in tracks)
        return _mean(purity for purity in purities if purity is not None)


def matching_snapshots(
    truth: Iterable[TruthSnapshot], picture: Iterable[PictureSnapshot]
) -> Iterator[tuple[TruthSnapshot | None, PictureSnapshot]]:
    """Each picture snapshot with the truth snapshot at the same instant, or None.

    Both must be in increasing time order (the readers make sure), so one pass suffices.
    """
    truths = iter(truth)
    current = next(truths, None)
    previous: datetime | None = None
    for snapshot in picture:
        if previous is not None and snapshot.time <= previous:
            raise ValueError("picture snapshots are not in increasing time order")
        previous = snapshot.time
        while current is not None and current.time < snapshot.time:
            following = next(truths, None)
            if following is not None and following.time <= current.time:
                raise ValueError("truth snapshots are not in increasing time order")
            current = following
        same_time = current is not None and current.time == snapshot.time
        yield (current if same_time else None), snapshot


def score(
    truth: Iterable[TruthSnapshot],
    picture: Iterable[PictureSnapshot],
    sources: Sources,
    *,
    cutoff_m: float = DEFAULT_CUTOFF_M,
    order: float = DEFAULT_ORDER,
    alpha: float = DEFAULT_ALPHA,
) -> Score:
    scorer = RunScorer(sources, cutoff_m=cutoff_m, order=order, alpha=alpha)
    snapshots: list[SnapshotScore] = []
    skipped = 0
    for truth_snapshot, picture_snapshot in matching_snapshots(truth, picture):
        if truth_snapshot is None:
            skipped += 1
        else:
            snapshots.append(scorer.score_snapshot(truth_snapshot, picture_snapshot))
    return Score(snapshots=tuple(snapshots), overall=scorer.overall(snapshots, skipped))


def score_files(truth_path: Path, picture_path: Path, sources_path: Path | None = None) -> Score:
    """Score from files; sources default to ``sources.jsonl`` beside the truth file."""
    if sources_path is None:
        sources_path = sources_next_to(truth_path)
    sources = read_sources(sources_path)
    return score(read_truth(truth_path), read_picture(picture_path), sources)


def _mean(values: Iterable[float]) -> float | None:
    total = 0.0
    count = 0
    for value in values:
        total += value
        count += 1
    return total / count if count else None

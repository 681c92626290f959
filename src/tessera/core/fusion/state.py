"""The mutable state of one track inside the tracker, and what a report's error is worth."""

from __future__ import annotations

from collections import deque
from typing import Final

from tessera.core.fusion.geo import velocity_components
from tessera.core.fusion.identity import IdentityBelief
from tessera.core.fusion.motion import PROFILES, MotionClass
from tessera.core.model import Report, SourceKind, TrackStatus

# Credibility 1 (confirmed) .. 6 (cannot be judged) inflates a report's stated error.
CREDIBILITY_ERROR_FACTOR: Final = {1: 1.0, 2: 1.2, 3: 1.5, 4: 2.0, 5: 3.0, 6: 1.5}


def report_variance(report: Report) -> float:
    sigma = report.position.ce * CREDIBILITY_ERROR_FACTOR[report.grading.credibility]
    return sigma * sigma


class TrackState:
    """Mutable state of one track inside the engine."""

    __slots__ = (
        "alt",
        "belief",
        "count",
        "dead_since",
        "first_at",
        "grading",
        "id",
        "label_level",
        "label_rel",
        "lat",
        "lineage",
        "lon",
        "motion",
        "quantity",
        "reliable_hits",
        "seen",
        "sidc",
        "sidc_rank",
        "sources",
        "status",
        "subject",
        "t",
        "var",
        "ve",
        "vn",
        "vvar",
    )

    def __init__(self, track_id: str, report: Report, t: float, motion: MotionClass) -> None:
        self.id = track_id
        self.subject = report.subject
        self.lat = report.position.lat
        self.lon = report.position.lon
        self.alt = report.position.alt
        self.var = report_variance(report)
        self.ve = self.vn = 0.0
        self.vvar = (PROFILES[motion].max_speed / 2.0) ** 2
        if report.velocity is not None:
            self.ve, self.vn = velocity_components(report.velocity.course, report.velocity.speed)
            self.vvar = 4.0
        self.t = t
        self.seen = t
        self.first_at = report.observed_at
        self.motion = motion
        self.sidc: str | None = None
        self.sidc_rank = 99
        self.quantity = report.quantity
        self.grading = report.grading
        self.label_level = report.label.classification
        self.label_rel: frozenset[str] = frozenset(report.label.releasable_to)
        self.sources: dict[str, SourceKind] = {}
        self.lineage: deque[str] = deque()
        self.count = 0
        self.reliable_hits = 0
        self.status = TrackStatus.TENTATIVE
        self.dead_since: float | None = None
        self.belief = IdentityBelief()

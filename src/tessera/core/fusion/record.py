"""What a track knows besides its kinematics: lineage, sources, identity, symbol, label.

Every piece is bounded (lineage window, sources shown), so a track that
lives for days costs the same memory as one that lives for minutes.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from tessera.core.fusion.declarations import Declaration
from tessera.core.fusion.identity import IdentityBelief
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Grading, Identity, Label, Report, SourceKind

# Credibility 1 (confirmed) .. 6 (cannot be judged) inflates a report's stated error.
CREDIBILITY_ERROR_FACTOR: Final = {1: 1.0, 2: 1.2, 3: 1.5, 4: 2.0, 5: 3.0, 6: 1.5}
MAX_SOURCES_SHOWN: Final = 16
# The latest scans (source, observed time) a track took reports of: a scan's reports reach
# the engine over a few seconds, often in several micro-batches, and a track must not take
# two reports of one scan whichever batches they fall in.
SCANS_KEPT: Final = 8
Scan = tuple[str, float]


def scan_of(report: Report) -> Scan:
    """A source's scan: what it reported as seen at one time. A track takes at most one
    report of each scan (one sensor does not see one thing twice at once)."""
    return report.source.id, report.observed_at.timestamp()


def axis_variance(report: Report) -> float:
    """Per-axis variance (m^2) of a report's position: ``ce`` is the 1-sigma radial error,
    inflated by how little its credibility grade vouches for it."""
    sigma = report.position.ce * CREDIBILITY_ERROR_FACTOR[report.grading.credibility]
    return sigma * sigma / 2.0


def hostile_side(identity: Identity) -> bool:
    return identity in (Identity.HOSTILE, Identity.SUSPECT)


class TrackRecord:
    """The non-kinematic half of a track; ``row`` points into the TrackArrays."""

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
        "last_label",
        "lineage",
        "name",
        "parent",
        "quantity",
        "reliable_hits",
        "row",
        "scans",
        "sidc",
        "sidc_rank",
        "sources",
        "subject",
    )

    def __init__(self, track_id: str, row: int, report: Report, lineage_window: int) -> None:
        self.id = track_id
        self.row = row
        self.subject = report.subject
        self.alt = report.position.alt
        self.first_at = report.observed_at
        self.sidc: str | None = None
        self.sidc_rank = 99
        self.quantity = report.quantity
        self.name = report.name
        self.parent = report.parent
        self.grading: Grading = report.grading
        self.label_level = report.label.classification
        self.label_rel: frozenset[str] = frozenset(report.label.releasable_to)
        # Reports from one source mostly carry one label: skip what changes nothing.
        self.last_label: Label | None = None
        self.sources: dict[str, SourceKind] = {}
        self.lineage: deque[str] = deque(maxlen=lineage_window)
        self.scans: deque[Scan] = deque(maxlen=SCANS_KEPT)
        self.count = 0
        self.reliable_hits = 0
        self.dead_since: float | None = None
        self.belief = IdentityBelief()

    def absorb(
        self, report: Report, scheme: ClassificationScheme, declaration: Declaration | None
    ) -> tuple[bool, bool]:
        """Everything but kinematics that a report tells about its track (``declaration``:
        what it declares, if it is one). Answers whether the evidence now suffices to
        confirm the track (a declaration, three reports, or two with a reliable one), and
        whether ``declaration`` is now the one in force."""
        in_force = False
        if declaration is not None:
            in_force = self.belief.declare(
                declaration.identity, declaration.confidence, declaration.at, declaration.until
            )
        if declaration is None or not declaration.own:
            # Once its validity ends, a declaration counts as one more statement.
            self.belief.observe(report.identity, report.grading)
        self.count += 1
        if report.grading.reliability in "ABC":
            self.reliable_hits += 1
        self.lineage.append(report.id)
        self.scans.append(scan_of(report))
        sources = self.sources
        source = report.source
        if source.id in sources:
            del sources[source.id]
        sources[source.id] = source.kind
        if len(sources) > MAX_SOURCES_SHOWN:
            del sources[next(iter(sources))]
        if report.quantity is not None:
            self.quantity = report.quantity
        if report.name is not None:
            self.name = report.name
        if report.parent is not None:
            self.parent = report.parent
        if report.position.alt is not None:
            self.alt = report.position.alt
        self._absorb_symbol(report, in_force)
        if report.label != self.last_label:
            self._absorb_label(report.label, scheme)
        evidence = self.count >= 3 or (self.count >= 2 and self.reliable_hits >= 1)
        return declaration is not None or evidence, in_force

    def _absorb_symbol(self, report: Report, declared: bool) -> None:
        # The best-graded report names the symbol; the declaration in force names it best.
        if declared:
            rank = -1
        else:
            rank = "ABCDEF".index(report.grading.reliability) * 10 + report.grading.credibility
        if rank <= self.sidc_rank:
            self.grading = report.grading
            self.sidc_rank = rank
            if report.sidc is not None:
                self.sidc = report.sidc

    def _absorb_label(self, label: Label, scheme: ClassificationScheme) -> None:
        self.last_label = label
        # What a track shows is derived from every report in it: the highest level, and
        # only the communities every one of them is releasable to.
        if scheme.rank(label.classification) > scheme.rank(self.label_level):
            self.label_level = label.classification
        self.label_rel = self.label_rel & frozenset(label.releasable_to)

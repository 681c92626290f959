"""Declarations: reports that state rather than sight. Fusion decides here, and only
here, which reports those are and what each one states.

A declaration is a unit's own report (about its own subject, from a ``unit`` source), or
any report that says how long it holds (``valid_until``: an imported file's units, a TAK
client's position or marker, whose CoT ``stale`` is its validity). Fusion takes it as
stated, where a sighting is weighed:

* its identity is the track's, with the confidence its source's reliability gives (a
  unit's own report: certain), not a vote of the belief kept for sightings: until its
  validity ends, and a unit's own report for good;
* it confirms its track at once, and its symbol and grading are the track's;
* its track is held: never coasting, dead or dropped before ``valid_until``; from then on
  it ages from its last report, as every track does.

On one track the newest declaration (by its own time) is the one in force: a later one
replaces it, its hold and identity included. A declaration whose validity has already
ended when it is fused states nothing more than a sighting.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from tessera.core.fusion.identity import RELIABILITY_HIT_RATE
from tessera.core.model import Identity, Report, SourceKind


class Declaration(NamedTuple):
    identity: Identity
    confidence: float
    at: float  # its own time (epoch seconds)
    until: float  # its identity holds until (infinity: a unit's own report, for good)
    hold: float  # its track is held until (NaN: not held)
    own: bool  # a unit's own report


def is_own_report(report: Report) -> bool:
    """A unit's own report: authoritative for its own identity."""
    return report.subject is not None and report.source.kind is SourceKind.UNIT


def holds_at(report: Report, now: float) -> bool:
    """Whether what ``report`` says still holds at ``now``: its track must be kept."""
    return report.valid_until is not None and report.valid_until.timestamp() > now


def declaration_of(report: Report, now: float) -> Declaration | None:
    """What ``report`` declares as of ``now`` (the journal's clock), or None for a
    sighting."""
    own = is_own_report(report)
    valid = None if report.valid_until is None else report.valid_until.timestamp()
    in_force = valid is not None and valid > now
    if not own and not in_force:
        return None
    return Declaration(
        identity=report.identity,
        confidence=1.0 if own else RELIABILITY_HIT_RATE[report.grading.reliability],
        at=report.observed_at.timestamp(),
        until=math.inf if own else float(valid or 0.0),
        hold=float(valid) if in_force and valid is not None else math.nan,
        own=own,
    )

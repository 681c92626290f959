"""The domain model (DESIGN §2): what a report, a track and a picture are.

Pure data. Validation of untrusted input lives in `tessera.codecs.json`; the types here
are what every other part of Tessera passes around once input has been accepted.
"""

from __future__ import annotations

import enum
import functools
from datetime import datetime, timedelta
from typing import Annotated, Final

import msgspec

from tessera.core.text import FREE_TEXT_PATTERN


class Identity(enum.StrEnum):
    """Standard identity (APP-6(D) / MIL-STD-2525D)."""

    PENDING = "pending"
    UNKNOWN = "unknown"
    ASSUMED_FRIEND = "assumed-friend"
    FRIEND = "friend"
    NEUTRAL = "neutral"
    SUSPECT = "suspect"
    HOSTILE = "hostile"


class SourceKind(enum.StrEnum):
    UNIT = "unit"
    UAV = "uav"
    SATELLITE = "satellite"
    SENSOR = "sensor"
    AIS = "ais"
    HUMAN = "human"
    OSINT = "osint"
    SYSTEM = "system"


class TrackStatus(enum.StrEnum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    COASTING = "coasting"
    # Not seen for longer than its kind's position can be trusted: shown where it was last
    # known (and dimmed), never as a current position, until seen again or dead.
    STALE = "stale"
    DEAD = "dead"


class Role(enum.StrEnum):
    VIEWER = "viewer"
    REPORTER = "reporter"
    OPERATOR = "operator"
    ADMIN = "admin"


RELIABILITY_CODES: Final = "ABCDEF"
CREDIBILITY_CODES: Final = "123456"


class Grading:
    """NATO Admiralty code (STANAG 2511 / AJP-2.1), e.g. ``B2``.

    Reliability of the source (A completely reliable .. E unreliable, F cannot be judged)
    and credibility of the information (1 confirmed .. 5 improbable, 6 cannot be judged)
    are rated separately. Carried on the wire as its two-character code.
    """

    __slots__ = ("credibility", "reliability")

    reliability: str
    credibility: int

    def __init__(self, reliability: str, credibility: int) -> None:
        if reliability not in RELIABILITY_CODES or len(reliability) != 1:
            raise ValueError(f"reliability must be one of A-F, got {reliability!r}")
        if not 1 <= credibility <= 6:
            raise ValueError(f"credibility must be 1-6, got {credibility!r}")
        object.__setattr__(self, "reliability", reliability)
        object.__setattr__(self, "credibility", credibility)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Grading is immutable")

    @classmethod
    def parse(cls, code: str) -> Grading:
        return _parsed_grading(code)

    @property
    def code(self) -> str:
        return f"{self.reliability}{self.credibility}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grading) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        return f"Grading({self.code!r})"


# Each of the 36 codes is made once: a picture's snapshot holds a grading per report it
# keeps, and decoding one parsed tens of thousands of the same few codes.
@functools.lru_cache(maxsize=64)
def _parsed_grading(code: str) -> Grading:
    if len(code) != 2 or code[0] not in RELIABILITY_CODES or code[1] not in CREDIBILITY_CODES:
        raise ValueError(f"must be an Admiralty code [A-F][1-6], got {code[:8]!r}")
    return Grading(code[0], int(code[1]))


UNGRADED: Final = Grading("F", 6)

# Value constraints, enforced whenever a model object is decoded (msgspec ``Meta``).
# Every float is bounded, so no NaN or infinity gets through. Patterns end in ``$(?!\n)``:
# Python's ``$`` also matches before a final newline, which "NATO\n" must not pass.
ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$(?!\n)"
COMMUNITY_PATTERN: Final = r"^[A-Z0-9][A-Z0-9_-]{0,31}$(?!\n)"
Identifier = Annotated[str, msgspec.Meta(pattern=ID_PATTERN, max_length=128)]
# A stored report's subject: an identifier, or one kept within its sender's own reports
# (``subject~<16 hex digits>``, made by the server: clients cannot send the ``~``).
SUBJECT_SCOPE_MARK: Final = "~"
StoredSubject = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}(~[0-9a-f]{16})?$(?!\n)", max_length=145
    ),
]
Community = Annotated[str, msgspec.Meta(pattern=COMMUNITY_PATTERN, max_length=32)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Altitude = Annotated[float, msgspec.Meta(ge=-12_000.0, le=1_000_000.0)]
CircularError = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]
Course = Annotated[float, msgspec.Meta(ge=0.0, lt=360.0)]
Speed = Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)]
Quantity = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Sidc = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{20}$(?!\n)")]
Classification = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# Free text as clients send it: no control characters (see tessera.core.text).
Remarks = Annotated[str, msgspec.Meta(max_length=4096, pattern=FREE_TEXT_PATTERN)]
# The same as the journal and the stores hold it, read back without the pattern: text
# stored before the rule must still load (the writers of every export clean it).
StoredRemarks = Annotated[str, msgspec.Meta(max_length=4096)]
# What a unit is called where its report came from (an NVG label), as clients send it
# and as it is stored (read back without the pattern, like StoredRemarks).
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=FREE_TEXT_PATTERN)]
StoredName = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
Communities = Annotated[tuple[Community, ...], msgspec.Meta(max_length=64)]


class Source(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Identifier
    kind: SourceKind


class Position(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """WGS 84 position; ``ce`` is the 1-sigma horizontal error in metres."""

    lat: Latitude
    lon: Longitude
    alt: Altitude | None = None
    ce: CircularError = 50.0


class Velocity(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Course over ground in degrees true, speed in metres per second."""

    course: Course
    speed: Speed


class Label(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Security label: a classification level and the communities it is releasable to."""

    classification: Classification
    releasable_to: Communities = ()


# The longest a report may say it holds (``valid_until``), counted from its own time: a
# declaration meant to stand longer is stated again.
MAX_HOLD: Final = timedelta(days=7)


def bounded_hold(observed_at: datetime, valid_until: datetime) -> datetime:
    """A validity from another system's format, cut to the longest a report may hold."""
    return min(valid_until, observed_at + MAX_HOLD)


class Report(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One observation. ``received_at`` is stamped by the journal when it is accepted.

    A ``retraction`` is not an observation: it withdraws what its sender said of its
    ``subject`` (a TAK client deleting the marker it placed), and fusion drops the track
    those reports made. Its position is where the subject was last said to be.

    ``valid_until``: how long what it says holds (after ``observed_at``, within
    ``MAX_HOLD``); a report that says so is a declaration (``core.fusion.declarations``).
    ``status``: the status a declaration states for its track (a file saying a unit is
    dead, say), taken as stated; ``None`` leaves it to fusion."""

    id: Identifier
    source: Source
    observed_at: Timestamp
    received_at: Timestamp | None = None
    valid_until: Timestamp | None = None
    position: Position
    velocity: Velocity | None = None
    subject: StoredSubject | None = None
    identity: Identity = Identity.UNKNOWN
    sidc: Sidc | None = None
    quantity: Quantity | None = None
    grading: Grading = UNGRADED
    label: Label
    remarks: StoredRemarks = ""
    retraction: bool = False
    name: StoredName | None = None
    status: TrackStatus | None = None
    # The subject of the formation this unit belongs to (its echelon is its SIDC's).
    parent: Identifier | None = None


def scoped_subject(subject: str, scope: str) -> str:
    return f"{subject}{SUBJECT_SCOPE_MARK}{scope}"


def shown_subject(subject: str) -> str:
    """A subject as people see it: without the scope a sender's own subject carries."""
    return subject.partition(SUBJECT_SCOPE_MARK)[0]


# Fusion names the track of a subject's own reports so (core.fusion.batch).
SUBJECT_TRACK_PREFIX: Final = "sub-"


def is_subjects_own_track(track_id: str, subject: str | None) -> bool:
    """Whether the track ``track_id`` showing ``subject`` is that subject's own (made of
    reports by its owners), not one a sender keeps of its own reports about it."""
    return subject is not None and track_id == SUBJECT_TRACK_PREFIX + subject


class Track(msgspec.Struct, frozen=True, kw_only=True):
    """One fused object as the picture shows it.

    ``lineage`` holds the ids of the most recent reports that built the track (a bounded
    window); ``report_count`` counts all of them. ``valid_until``: a declaration holds the
    track until then (it neither coasts nor dies before).
    """

    id: str
    position: Position
    velocity: Velocity | None
    identity: Identity
    identity_confidence: float
    sidc: str
    status: TrackStatus
    first_at: datetime
    updated_at: datetime
    subject: str | None
    quantity: int | None
    grading: Grading
    label: Label
    sources: tuple[Source, ...]
    lineage: tuple[str, ...]
    report_count: int
    name: str | None = None  # the latest name its reports gave it
    valid_until: datetime | None = None
    parent: str | None = None  # the latest parent formation its reports named


class PrincipalKind(enum.StrEnum):
    USER = "user"
    SYSTEM = "system"


PRINCIPAL_PATTERN: Final = r"^[a-z0-9][a-z0-9._@-]{0,63}$(?!\n)"
PrincipalName = Annotated[str, msgspec.Meta(pattern=PRINCIPAL_PATTERN, max_length=64)]


class Principal(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A user or a system, with what it may see and do (DESIGN §3).

    ``communities`` and ``clearance`` bound what it may read and submit; an
    ``unrestricted`` principal (the deployment's own staff) reads every releasability,
    within its clearance still. ``roles`` say what it may do; ``default_label`` labels
    its reports that carry none. A disabled principal keeps its record (the audit trail
    names it) but nothing it holds is accepted.
    """

    name: PrincipalName
    kind: PrincipalKind = PrincipalKind.USER
    communities: Communities = ()
    clearance: Classification = "UNCLASSIFIED"
    unrestricted: bool = False
    roles: tuple[Role, ...] = (Role.VIEWER,)
    default_label: Label | None = None
    disabled: bool = False
    created_at: Timestamp | None = None

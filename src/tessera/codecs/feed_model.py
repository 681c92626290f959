"""What a sensor feed's decoder gives (AIS, ADS-B, MAVLink, KLV): observations of
things (each keyed by what the protocol names it by), sensor footprints, and the bad
input it met. Pure data: the feed's transport turns these into labelled, graded reports
and overlays of its principal (``tessera.transports.feeds``)."""

from __future__ import annotations

import msgspec

from tessera.core.model import Identity, SourceKind


class Sighting(msgspec.Struct, frozen=True, kw_only=True):
    """One thing seen at one place: ``subject`` is its protocol's key (``mmsi-…``,
    ``icao-…``, ``mav-…``, ``klv-…``), None for an anonymous detection. Angles in
    degrees, heights in metres above the ellipsoid or mean sea level (as the protocol
    gives), speeds in metres per second."""

    subject: str | None
    kind: SourceKind
    lat: float
    lon: float
    alt: float | None = None
    ce: float = 50.0
    course: float | None = None
    speed: float | None = None
    sidc: str | None = None
    name: str | None = None
    remarks: str = ""
    # None: the feed's own identity (its settings, or its kind's default).
    identity: Identity | None = None
    # Seconds before receipt that it was observed (a poll's age, a recording's offset).
    age_s: float = 0.0
    # The platform reporting itself (a drone's autopilot, a KLV platform's own position):
    # a unit's own report, authoritative for its identity.
    own: bool = False


class Footprint(msgspec.Struct, frozen=True, kw_only=True):
    """Where a sensor looks: the ground polygon (lon, lat corners, in order), named by
    the platform that carries the sensor."""

    platform: str
    corners: tuple[tuple[float, float], ...]
    name: str


class Squawk(msgspec.Struct, frozen=True, kw_only=True):
    """An aircraft squawking an emergency code (7500 hijack, 7600 radio failure, 7700
    emergency), or (``cleared``) no longer squawking it; where it was then, if known."""

    subject: str
    code: str
    meaning: str
    cleared: bool = False
    lat: float | None = None
    lon: float | None = None


class Decoded(msgspec.Struct, kw_only=True):
    """What one piece of input decoded to. ``problems`` name each kind of bad input
    met (one entry per bad message), so the feed counts them and logs each kind once."""

    messages: int = 0
    sightings: list[Sighting] = msgspec.field(default_factory=list)
    footprints: list[Footprint] = msgspec.field(default_factory=list)
    squawks: list[Squawk] = msgspec.field(default_factory=list)
    problems: list[str] = msgspec.field(default_factory=list)

    def extend(self, other: Decoded) -> None:
        self.messages += other.messages
        self.sightings.extend(other.sightings)
        self.footprints.extend(other.footprints)
        self.squawks.extend(other.squawks)
        self.problems.extend(other.problems)


class LineBuffer:
    """Lines out of a byte stream that arrives in pieces; a line longer than ``limit``
    is dropped (named as a problem) rather than held."""

    def __init__(self, limit: int = 4096) -> None:
        self._pending = b""
        self._limit = limit

    def lines(self, data: bytes, problems: list[str], *, whole: bool = False) -> list[bytes]:
        """The complete lines ``data`` finishes; with ``whole`` (a datagram), its last
        line too."""
        joined = self._pending + data
        parts = joined.split(b"\n")
        self._pending = b"" if whole else parts.pop()
        if len(self._pending) > self._limit:
            problems.append("line too long")
            self._pending = b""
        lines = []
        for part in parts:
            line = part.strip()
            if len(line) > self._limit:
                problems.append("line too long")
            elif line:
                lines.append(line)
        return lines

"""Read the inputs of scoring: ground truth, recorded pictures and report sources.

Each reader decodes one line at a time, so a long run never sits in memory whole. Bad
input raises ``ScoreInputError`` naming the file, the 1-based line and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec

from tessera.codecs.errors import json_field_error

SOURCES_NAME = "sources.jsonl"

Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Moment = Annotated[datetime, msgspec.Meta(tz=True)]
Position = Annotated[list[float], msgspec.Meta(min_length=2, max_length=3)]  # lon, lat[, alt]

LineT = TypeVar("LineT")
SnapshotT = TypeVar("SnapshotT", "TruthSnapshot", "PictureSnapshot")


class ScoreInputError(ValueError):
    """An input file is missing, unreadable or not in the expected shape."""


class TruthObject(msgspec.Struct, frozen=True):
    id: str
    lat: Latitude
    lon: Longitude
    identity: str
    kind: str = ""


class TruthSnapshot(msgspec.Struct, frozen=True):
    time: Moment
    objects: list[TruthObject]


class PointGeometry(msgspec.Struct, frozen=True):
    type: Literal["Point"]
    coordinates: Position

    def __post_init__(self) -> None:
        lon, lat = self.coordinates[0], self.coordinates[1]
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise ValueError(f"coordinates [{lon}, {lat}] are not a longitude and latitude")


class TrackProperties(msgspec.Struct, frozen=True):
    """The properties scoring uses; any others in the file are ignored."""

    status: str
    identity: str
    lineage: list[str]
    id: str | None = None


class TrackFeature(msgspec.Struct, frozen=True):
    type: Literal["Feature"]
    geometry: PointGeometry
    properties: TrackProperties
    id: str | None = None

    def __post_init__(self) -> None:
        if self.id is None and self.properties.id is None:
            raise ValueError("track has no id (neither the feature's nor in its properties)")

    @property
    def track_id(self) -> str:
        track_id = self.properties.id if self.properties.id is not None else self.id
        assert track_id is not None  # __post_init__ makes sure of it
        return track_id

    @property
    def lat(self) -> float:
        return self.geometry.coordinates[1]

    @property
    def lon(self) -> float:
        return self.geometry.coordinates[0]


class PictureSnapshot(msgspec.Struct, frozen=True):
    time: Moment
    tracks: list[TrackFeature]


class SourceLine(msgspec.Struct, frozen=True):
    report: str
    truth: str | None  # None: a false report, about nothing real
    received_at: Moment


@dataclass(frozen=True)
class Sources:
    """Which truth each report is about, and when each truth was first reported."""

    truth_of_report: dict[str, str | None]
    first_received: dict[str, datetime]


def sources_next_to(truth_path: Path) -> Path:
    """Where the simulator writes ``sources.jsonl``: beside ``truth.jsonl``."""
    return truth_path.parent / SOURCES_NAME


def read_truth(path: Path) -> Iterator[TruthSnapshot]:
    """Truth snapshots in the file's order, which must be strictly increasing in time."""
    return _snapshots(path, msgspec.json.Decoder(TruthSnapshot))


def read_picture(path: Path) -> Iterator[PictureSnapshot]:
    """Picture snapshots in the file's order, which must be strictly increasing in time."""
    return _snapshots(path, msgspec.json.Decoder(PictureSnapshot))


def read_sources(path: Path) -> Sources:
    decoder = msgspec.json.Decoder(SourceLine)
    truth_of_report: dict[str, str | None] = {}
    first_received: dict[str, datetime] = {}
    for number, line in _lines(path):
        source = _decode(decoder, line, path, number)
        truth_of_report[source.report] = source.truth
        if source.truth is not None:
            earliest = first_received.get(source.truth)
            if earliest is None or source.received_at < earliest:
                first_received[source.truth] = source.received_at
    return Sources(truth_of_report=truth_of_report, first_received=first_received)


def _snapshots(path: Path, decoder: msgspec.json.Decoder[SnapshotT]) -> Iterator[SnapshotT]:
    # Matching picture to truth walks both files once, which needs them in time order.
    previous: datetime | None = None
    for number, line in _lines(path):
        snapshot = _decode(decoder, line, path, number)
        if previous is not None and snapshot.time <= previous:
            raise ScoreInputError(
                f"{path}, line {number}: time {snapshot.time.isoformat()} is not after "
                f"the previous line's {previous.isoformat()}; snapshots must be in time order"
            )
        previous = snapshot.time
        yield snapshot


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers, read one at a time."""
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ScoreInputError(f"{path}: cannot read: {reason}") from None


def _decode(decoder: msgspec.json.Decoder[LineT], line: bytes, path: Path, number: int) -> LineT:
    try:
        return decoder.decode(line)
    except msgspec.ValidationError as exc:
        raise ScoreInputError(f"{path}, line {number}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ScoreInputError(f"{path}, line {number}: not valid JSON: {exc}") from None
    except (UnicodeDecodeError, RecursionError) as exc:
        reason = json_field_error(exc, line).reason
        raise ScoreInputError(f"{path}, line {number}: the line {reason}") from None

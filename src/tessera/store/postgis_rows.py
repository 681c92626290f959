"""The PostGIS store's SQL and its rows: tracks and overlays to parameters and back.

Queries are constants: every value goes in as a parameter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from tessera.codecs.geojson_export import overlay_geometry
from tessera.codecs.json import encode
from tessera.core.model import Grading, Track
from tessera.core.overlays import Overlay
from tessera.store.overlay_shapes import crosses_antimeridian
from tessera.store.postgis_pending import Batch, Changes, ItemT

BBox = tuple[float, float, float, float]

ENSURE_PICTURES: Final = (
    "INSERT INTO pictures (name) SELECT unnest(%s::text[]) "
    "ON CONFLICT ON CONSTRAINT pictures_pkey DO NOTHING"
)
PICTURES: Final = "SELECT name, seq, journal_seq FROM pictures WHERE name = ANY(%s)"
TRACKS_OF: Final = "SELECT body::text FROM tracks WHERE picture = %s"
TRACK: Final = "SELECT body::text FROM tracks WHERE picture = %s AND id = %s"
OVERLAYS_OF: Final = "SELECT body::text FROM overlays WHERE picture = %s"
# A NULL leaves the column as it is: a batch may move the seq, the journal, or both.
UPDATE_PICTURE: Final = (
    "UPDATE pictures SET seq = COALESCE(%s::bigint, seq), "
    "journal_seq = COALESCE(%s::bigint, journal_seq), updated_at = now() WHERE name = %s"
)
# The epoch of the fusion worker that wrote the picture's rows last.
PICTURE_EPOCH: Final = "UPDATE pictures SET epoch = %s WHERE name = %s"
UPSERT_TRACK: Final = """
INSERT INTO tracks (picture, id, body, position, updated_at, status, identity, seq)
VALUES (%s, %s, %s::jsonb, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s, %s, %s, %s)
ON CONFLICT ON CONSTRAINT tracks_pkey DO UPDATE SET
    body = EXCLUDED.body, position = EXCLUDED.position, updated_at = EXCLUDED.updated_at,
    status = EXCLUDED.status, identity = EXCLUDED.identity, seq = EXCLUDED.seq
"""
DELETE_TRACKS: Final = "DELETE FROM tracks WHERE picture = %s AND id = ANY(%s)"
# A shape crossing the antimeridian is split there (shifted to 0..360, then the part east
# of 180 moved back), else the lon/lat index would see it spanning the whole globe.
# Altitudes are dropped: the column is two-dimensional.
UPSERT_OVERLAY: Final = """
INSERT INTO overlays (picture, id, body, geometry, classification, releasable_to,
                      valid_from, valid_to, updated_at, seq)
SELECT %s, %s, %s::jsonb,
    ST_Force2D(CASE WHEN %s THEN ST_WrapX(ST_ShiftLongitude(shape), 180, -360)
                    ELSE shape END)::geography,
    %s, %s::text[], %s, %s, %s, %s
FROM ST_GeomFromGeoJSON(%s) AS shape
ON CONFLICT ON CONSTRAINT overlays_pkey DO UPDATE SET
    body = EXCLUDED.body, geometry = EXCLUDED.geometry,
    classification = EXCLUDED.classification, releasable_to = EXCLUDED.releasable_to,
    valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to,
    updated_at = EXCLUDED.updated_at, seq = EXCLUDED.seq
"""
DELETE_OVERLAYS: Final = "DELETE FROM overlays WHERE picture = %s AND id = ANY(%s)"

# A box goes through geometry (lines of longitude and latitude, and the lon/lat GiST
# index); one crossing the antimeridian is two boxes.
TRACKS_IN_BOX: Final = """
SELECT body::text FROM tracks WHERE picture = %s
    AND ST_Intersects(position::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
ORDER BY id
"""
TRACKS_IN_TWO_BOXES: Final = """
SELECT body::text FROM tracks WHERE picture = %s
    AND (ST_Intersects(position::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
         OR ST_Intersects(position::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326)))
ORDER BY id
"""
OVERLAYS_IN_BOX: Final = """
SELECT body::text FROM overlays WHERE picture = %s
    AND ST_Intersects(geometry::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
ORDER BY id
"""
OVERLAYS_IN_TWO_BOXES: Final = """
SELECT body::text FROM overlays WHERE picture = %s
    AND (ST_Intersects(geometry::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
         OR ST_Intersects(geometry::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326)))
ORDER BY id
"""

# A JSON \u0000 escape (after an even run of backslashes, so not an escaped backslash
# followed by "u0000"): jsonb cannot hold it, and a refused row would stall every write.
_NUL_ESCAPE: Final = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Grading and isinstance(obj, str):
        return Grading.parse(obj)
    raise NotImplementedError(f"no decoder for {type_!r}")


class RowCodec:
    """Rows to and from tracks and overlays; the decoders are built once per store."""

    def __init__(self) -> None:
        self._track = msgspec.json.Decoder(Track, dec_hook=_dec_hook)
        self._overlay = msgspec.json.Decoder(Overlay)

    def track(self, body: str) -> Track:
        return self._track.decode(body)

    def overlay(self, body: str) -> Overlay:
        return self._overlay.decode(body)


def stored_json(data: bytes) -> str:
    """JSON as jsonb can hold it: a NUL in a string becomes U+FFFD."""
    if b"\\u0000" in data:
        data = _NUL_ESCAPE.sub(rb"\1\\ufffd", data)
    return data.decode()


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")


def track_row(picture: str, track: Track, seq: int) -> tuple[Any, ...]:
    """UPSERT_TRACK's parameters."""
    position = track.position
    body = stored_json(encode(track))
    return (
        picture,
        track.id,
        body,
        position.lon,
        position.lat,
        track.updated_at,
        track.status.value,
        track.identity.value,
        seq,
    )


def overlay_row(picture: str, overlay: Overlay, seq: int) -> tuple[Any, ...]:
    """UPSERT_OVERLAY's parameters."""
    geometry = overlay_geometry(overlay)
    label = overlay.label
    return (
        picture,
        overlay.id,
        stored_json(encode(overlay)),
        crosses_antimeridian(geometry),
        _text(label.classification),
        [_text(community) for community in label.releasable_to],
        overlay.valid_from,
        overlay.valid_to,
        overlay.updated_at,
        seq,
        msgspec.json.encode(geometry).decode(),
    )


def batch_statements(
    batch: Batch, pictures: Sequence[str]
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements writing a batch, each with its rows of parameters: upserts, then
    removals, then the pictures' seqs (every picture's, when the journal mark moves)."""
    track_rows = [
        track_row(picture, track, seq)
        for picture, changes in batch.tracks.items()
        for track, seq in changes.values()
        if track is not None
    ]
    overlay_rows = [
        overlay_row(picture, overlay, seq)
        for picture, changes in batch.overlays.items()
        for overlay, seq in changes.values()
        if overlay is not None
    ]
    journal = batch.journal_seq
    touched = pictures if journal is not None else list(batch.seqs)
    statements = [
        (UPSERT_TRACK, track_rows),
        (UPSERT_OVERLAY, overlay_rows),
        (DELETE_TRACKS, _removals(batch.tracks)),
        (DELETE_OVERLAYS, _removals(batch.overlays)),
        (UPDATE_PICTURE, [(batch.seqs.get(name), journal, name) for name in touched]),
    ]
    return [(query, params) for query, params in statements if params]


def _removals(changes: Changes[ItemT]) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    for picture, pending in changes.items():
        removed = [item_id for item_id, (item, _) in pending.items() if item is None]
        if removed:
            found.append((picture, removed))
    return found


def box_query(
    query_two: str, query_one: str, picture: str, bbox: BBox
) -> tuple[str, tuple[Any, ...]] | None:
    """The query for a (west, south, east, north) box and its parameters; None for a box
    that holds nothing (south above north) or is not made of numbers."""
    west, south, east, north = bbox
    if not all(math.isfinite(value) for value in bbox) or south > north:
        return None
    if west <= east:
        return query_one, (picture, west, south, east, north)
    return query_two, (picture, west, south, 180.0, north, -180.0, south, east, north)


def tracks_in(picture: str, bbox: BBox) -> tuple[str, tuple[Any, ...]] | None:
    return box_query(TRACKS_IN_TWO_BOXES, TRACKS_IN_BOX, picture, bbox)


def overlays_in(picture: str, bbox: BBox) -> tuple[str, tuple[Any, ...]] | None:
    return box_query(OVERLAYS_IN_TWO_BOXES, OVERLAYS_IN_BOX, picture, bbox)

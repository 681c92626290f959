"""Tracks as GeoJSON Features (RFC 7946): what the REST API, the stream and the map read."""

from __future__ import annotations

from typing import Any

from tessera.core.model import Position, Track


def track_feature(track: Track) -> dict[str, Any]:
    position = track.position
    coordinates = [position.lon, position.lat]
    if position.alt is not None:
        coordinates.append(position.alt)
    velocity = track.velocity
    return {
        "type": "Feature",
        "id": track.id,
        "geometry": {"type": "Point", "coordinates": coordinates},
        "properties": {
            "id": track.id,
            "status": track.status.value,
            "identity": track.identity.value,
            "identity_confidence": track.identity_confidence,
            "sidc": track.sidc,
            "updated_at": track.updated_at,
            "first_at": track.first_at,
            "subject": track.subject,
            "name": track.name,
            "parent": track.parent,
            "quantity": track.quantity,
            "grading": track.grading.code,
            "classification": track.label.classification,
            "releasable_to": list(track.label.releasable_to),
            "course": None if velocity is None else round(velocity.course, 1),
            "speed": None if velocity is None else round(velocity.speed, 2),
            "ce": _shown_ce(position),
            "report_count": track.report_count,
            "valid_until": track.valid_until,
            "sources": [{"id": source.id, "kind": source.kind.value} for source in track.sources],
        },
    }


def moved_feature(feature: dict[str, Any], position: Position) -> None:
    """``feature`` (``track_feature``'s) moved to ``position`` with its error, in place:
    the same as building it anew from a track changed only there."""
    coordinates = feature["geometry"]["coordinates"]
    coordinates[0], coordinates[1] = position.lon, position.lat
    feature["properties"]["ce"] = _shown_ce(position)


def _shown_ce(position: Position) -> float:
    return round(position.ce, 1)


def feature_collection(features: list[Any], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **members, "features": features}

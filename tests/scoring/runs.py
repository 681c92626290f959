"""Build small truth, picture and sources files by hand for the scoring tests."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tessera.scoring.gospa import EARTH_RADIUS_M

METRES_PER_DEGREE_LAT = EARTH_RADIUS_M * math.pi / 180.0
LON = 16.0  # every point sits on this meridian, so distances are plain latitude differences


def north(lat: float, metres: float) -> float:
    """The latitude ``metres`` north of ``lat`` on the same meridian."""
    return lat + metres / METRES_PER_DEGREE_LAT


def truth_object(object_id: str, lat: float, identity: str) -> dict[str, Any]:
    return {"id": object_id, "lat": lat, "lon": LON, "identity": identity, "kind": "vehicle"}


def track(
    track_id: str, lat: float, status: str, identity: str, lineage: list[str]
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": track_id,
        "geometry": {"type": "Point", "coordinates": [LON, lat]},
        "properties": {
            "id": track_id,
            "status": status,
            "identity": identity,
            "identity_confidence": 0.9,
            "sidc": "10031000001211000000",
            "updated_at": "2026-05-04T09:00:00Z",
            "report_count": len(lineage),
            "lineage": lineage,
            "label": "ignored by scoring",
        },
    }


def source(report: str, truth: str | None, received_at: str) -> dict[str, Any]:
    return {"report": report, "truth": truth, "received_at": received_at}


def write_lines(path: Path, documents: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(document) + "\n" for document in documents))
    return path

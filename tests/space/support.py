"""Satellites for tests: the published element sets beside the pass tests, split into a
NATO-only hostile imaging source and an unclassified neutral one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from tessera.core.labels import AdmissionRule, Picture
from tessera.core.model import Principal, Role

ELEMENTS: Final = Path(__file__).parents[1] / "core" / "space" / "elements_2025_179.tle"
T0: Final = datetime(2025, 6, 28, 0, 0, tzinfo=UTC)
KYIV: Final = (50.45, 30.52)
NATO_ONLY: Final = {"classification": "SECRET", "releasable_to": ["NATO"]}
OPEN: Final = {"classification": "UNCLASSIFIED", "releasable_to": ["NATO", "UKR"]}
PICTURES: Final = (
    Picture(name="NATO", readers=("*",)),
    Picture(
        name="REL-UKR",
        rule=AdmissionRule(max_classification="CONFIDENTIAL", releasable_to="UKR"),
        reader_communities=("UKR",),
    ),
)
UKR: Final = Principal(
    name="ukr-liaison", communities=("UKR",), clearance="CONFIDENTIAL", roles=(Role.VIEWER,)
)


def split_sources(folder: Path) -> list[dict[str, Any]]:
    """The first ten sets as hostile imaging satellites (NATO only), the rest neutral."""
    lines = ELEMENTS.read_text().splitlines()
    hostile, neutral = folder / "hostile.tle", folder / "neutral.tle"
    hostile.write_text("\n".join(lines[:30]) + "\n")
    neutral.write_text("\n".join(lines[30:]) + "\n")
    return [
        {
            "name": "hostile",
            "file": str(hostile),
            "label": NATO_ONLY,
            "identity": "hostile",
            "imaging": True,
            "sensor_half_angle": 45.0,
        },
        {"name": "neutral", "file": str(neutral), "label": OPEN, "identity": "neutral"},
    ]

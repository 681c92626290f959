"""``[[satellites]]`` in the settings checked as a whole: the sources
(``tessera.core.space.catalog``) and their labels against the classification levels."""

from __future__ import annotations

from collections.abc import Sequence

from tessera.core.labels import ClassificationScheme
from tessera.core.space.catalog import SatelliteSource, source_problems


def check_satellites(satellites: Sequence[SatelliteSource], scheme: ClassificationScheme) -> None:
    """Raise ValueError naming what is wrong with the satellites' settings."""
    if problems := source_problems(satellites):
        raise ValueError("; ".join(problems))
    for source in satellites:
        labels = [source.label, *(p.label for p in source.profiles if p.label)]
        for label in labels:
            if label.classification not in scheme:
                raise ValueError(
                    f"satellites {source.name}: {label.classification!r} is not a level"
                )

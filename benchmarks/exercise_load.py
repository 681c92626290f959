"""The exercise's own reports as a benchmark load: the stream ``tessera demo`` feeds
(scenario ``exercise``, its default seed and rate), generated deterministically from the
seed, simulated time mapped one to one onto the benchmark's wall clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final

import msgspec

from tessera.core.labels import AdmissionRule
from tessera.core.model import Report
from tessera.sim.scenario import ScenarioConfig, build
from tessera.sim.sensors import Sighting

# What ``tessera demo`` runs unless told otherwise (its --seed and --rate defaults).
DEMO_SEED: Final = 1
DEMO_RATE: Final = 200.0
# What the link releases to its partner: a non-NATO partner (UKR) cleared to RESTRICTED.
# Of the exercise's labels that is the drone sightings (RESTRICTED REL NATO, UKR) and the
# open sources (UNCLASSIFIED REL EU, NATO, UKR): not the units' own positions (REL NATO),
# the patrols' spot reports (REL NATO, POL) or the imagery (SECRET / CONFIDENTIAL).
PARTNER_RULE: Final = AdmissionRule(max_classification="RESTRICTED", releasable_to="UKR")
PARTNER_RULE_TEXT: Final = "RESTRICTED and below, releasable to UKR"


class ExerciseLoad:
    """Hands out the exercise's reports tick by tick: each tick, those whose send time
    (in simulated time) has come, their times moved onto the wall clock."""

    def __init__(self, seed: int = DEMO_SEED, rate: float = DEMO_RATE) -> None:
        self._exercise = build("exercise", ScenarioConfig(seed=seed, rate=rate))
        self._sightings: Iterator[Sighting] = self._exercise.sightings()
        self._next: Sighting | None = next(self._sightings, None)
        self._elapsed = 0.0  # simulated seconds handed out

    def tick(self, seconds: float, now: datetime) -> list[Report]:
        """The reports sent in the next ``seconds`` of the exercise; ``now`` is the wall
        clock at the tick's end (the simulated clock's counterpart)."""
        self._elapsed += seconds
        start = self._exercise.config.start
        due = start + timedelta(seconds=self._elapsed)
        shift = now - due
        out = []
        while self._next is not None and self._next.send_at <= due:
            report = self._next.report
            valid = report.valid_until
            out.append(
                msgspec.structs.replace(
                    report,
                    observed_at=report.observed_at + shift,
                    valid_until=None if valid is None else valid + shift,
                )
            )
            self._next = next(self._sightings, None)
        return out

"""Pass warnings: a hostile imaging satellite's pass over a friendly unit warns the readers
of the unit's picture ahead of time (``lead_s`` before it rises, until it sets), and
nobody else: the other picture, which may not know of that satellite, gets nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import msgspec

from tessera.core.alerts.overhead import threatening
from tessera.core.model import Identity, Label
from tessera.core.space.catalog import SatelliteSource
from tessera.core.space.passes import Sites
from tessera.core.space.predict import Pass, passes_over
from tessera.space.catalog import SatelliteCatalog
from tests.alerting.scenario import NATO_LABEL, PICTURES, Scene
from tests.space.support import KYIV, T0, split_sources
from tests.store.builders import track
from tests.support import clocked_server
from tests.two_pictures import officers

LEAD_S: Final = 900.0
RULES: Final = [
    {"id": "hide-nato", "picture": "NATO", "kind": "satellite-pass", "lead_s": LEAD_S},
    {"id": "hide-ukr", "picture": "UKR", "kind": "satellite-pass", "lead_s": LEAD_S},
]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _windows(sources: list[dict[str, object]]) -> list[Pass]:
    """The hostile in-field passes over Kyiv in the next six hours, as the server sees them."""
    catalog = SatelliteCatalog([msgspec.convert(s, SatelliteSource) for s in sources])
    catalog.load_files()
    found = passes_over(
        threatening(catalog.satellites()),
        Sites([KYIV[0]], [KYIV[1]], [0.0]),
        T0,
        timedelta(hours=6),
    )
    return [p for p in found if p.in_field and p.rise is not None and p.set is not None]


def _quiet_before(passes: list[Pass]) -> Pass:
    """A pass whose warning starts when no other pass is being warned of."""
    lead = timedelta(seconds=LEAD_S)
    for candidate in passes:
        assert candidate.rise is not None
        before = candidate.rise - lead - timedelta(seconds=60)
        busy = any(
            p.rise is not None and p.set is not None and p.rise - lead <= before < p.set
            for p in passes
        )
        if before > T0 and not busy:
            return candidate
    raise AssertionError("no quiet pass in six hours")


def test_a_hostile_pass_warns_the_units_picture_ahead_and_nobody_else(tmp_path: Path) -> None:
    sources = split_sources(tmp_path)
    passes = _windows(sources)
    chosen = _quiet_before(passes)
    assert chosen.rise is not None and chosen.set is not None
    rise = chosen.rise
    last_set = max(p.set for p in passes if p.set is not None)
    lead = timedelta(seconds=LEAD_S)

    async def scenario() -> None:
        clock = Clock()
        settings = {
            "pictures": PICTURES,
            "alerts": {"tick_s": 3600.0, "rules": RULES},
            "satellites": sources,
        }
        async with clocked_server(tmp_path / "data", clock, **settings) as live:
            scene = Scene(live, clock, await officers(live))  # type: ignore[arg-type]
            nato_unit = track("nato-unit", *KYIV, identity=Identity.FRIEND, label=NATO_LABEL)
            ukr_unit = track(
                "ukr-unit", *KYIV, identity=Identity.FRIEND, label=Label("UNCLASSIFIED", ("UKR",))
            )
            clock.now = rise - lead - timedelta(seconds=60)
            assert scene.feed("NATO", nato_unit) == []
            assert scene.feed("UKR", ukr_unit) == []
            assert scene.service.tick(clock.now) == []
            clock.now = rise - lead + timedelta(seconds=1)
            raised = scene.service.tick(clock.now)
            assert [(a.picture, a.track_id) for a in raised] == [("NATO", "nato-unit")]
            warning = raised[0]
            assert warning.raised_at < rise
            assert warning.label.classification == "SECRET"
            assert "NORAD" in warning.detail and "rises" in warning.detail
            async with scene.client("nato") as nato, scene.client("ukr") as ukr:
                seen = (await nato.get("/api/v1/alerts", params={"picture": "NATO"})).json()
                theirs = (await ukr.get("/api/v1/alerts", params={"picture": "UKR"})).json()
                refused = await ukr.get("/api/v1/alerts", params={"picture": "NATO"})
            assert [a["track_id"] for a in seen["alerts"]] == ["nato-unit"]
            assert theirs["alerts"] == []
            assert refused.status_code == 404
            clock.now = last_set + timedelta(seconds=1)
            cleared = scene.service.tick(clock.now)
            assert [(a.track_id, a.cleared_at is not None) for a in cleared] == [
                ("nato-unit", True)
            ]

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_pass_warning_rules_are_made_through_the_api(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            clocked_server(tmp_path / "data", Clock(), pictures=PICTURES) as live,
            live.client() as admin,
        ):
            made = await admin.post(
                "/api/v1/alert-rules",
                params={"picture": "NATO"},
                json={"kind": "satellite-pass", "name": "Hide", "lead_s": 600},
            )
            assert made.status_code == 201, made.text
            assert made.json()["lead_s"] == 600
            assert made.json()["identities"] == [] and made.json()["kind"] == "satellite-pass"
            missing = await admin.post(
                "/api/v1/alert-rules",
                params={"picture": "NATO"},
                json={"kind": "satellite-pass", "name": "Hide"},
            )
            assert missing.status_code == 422
            assert [e["field"] for e in missing.json()["errors"]] == ["lead_s"]

    asyncio.run(asyncio.wait_for(scenario(), 60))

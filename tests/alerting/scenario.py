"""A live server with two pictures (NATO, UKR) on a clock the test moves, and helpers to
feed the alert service the picture's changes as the change feed would."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import msgspec

from tessera.alerting.model import Alert
from tessera.bus.base import Change
from tessera.core.model import Label, Track
from tests.support import Live, clocked_server
from tests.two_pictures import (
    NATO_OFFICER,
    NATO_PICTURE,
    UKR_LIAISON,
    UKR_PICTURE,
    officers,
    run_scene,
)
from tests.two_pictures import Scene as TwoPictures

__all__ = ["BOX", "NATO_LABEL", "NATO_OFFICER", "PICTURES", "T0", "UKR_LIAISON", "Scene", "run"]

T0: Final = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NATO_LABEL: Final = Label("SECRET", ("NATO",))
PICTURES: Final = [UKR_PICTURE, NATO_PICTURE]
# A box about 7 km by 11 km around 50.05 N, 10.05 E.
BOX: Final = {
    "name": "Box",
    "kind": "area",
    "coordinates": [[10.0, 50.0], [10.1, 50.0], [10.1, 50.1], [10.0, 50.1], [10.0, 50.0]],
    "label": {"classification": "RESTRICTED", "releasable_to": ["NATO"]},
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        self.now = T0 + timedelta(seconds=seconds)
        return self.now


class Scene(TwoPictures):
    def __init__(self, live: Live, clock: Clock, tokens: dict[str, str]) -> None:
        super().__init__(live, tokens)
        self.clock = clock
        self._seq = 0

    @property
    def service(self) -> Any:
        return self.live.tessera.alerts

    def feed(
        self, picture: str, *tracks: Track, removed: tuple[str, ...] = (), overlays: Any = ()
    ) -> list[Alert]:
        """The picture's changes, as its change feed brings them."""
        changes: list[Change] = []
        for track in tracks:
            self._seq += 1
            changes.append(Change(self._seq, track.id, track, msgspec.Raw(b"{}")))
        for track_id in removed:
            self._seq += 1
            changes.append(Change(self._seq, track_id, None, None))
        for overlay in overlays:
            self._seq += 1
            changes.append(
                Change(self._seq, overlay.id, None, msgspec.Raw(b"{}"), "overlay", overlay)
            )
        done: list[Alert] = self.service.process(picture, changes, self.clock())
        return done

    async def overlay(self, picture: str, doc: dict[str, Any]) -> str:
        """An overlay made through the API, once the picture (and its alert rules) has it."""
        async with self.client("nato") as client:
            answer = await client.post("/api/v1/overlays", json=doc)
        assert answer.status_code == 201, answer.text
        overlay_id: str = answer.json()["id"]
        tessera = self.live.tessera
        assert await tessera.worker.wait_caught_up(tessera.journal.last_seq, 10)
        found = tessera.store.overlay(picture, overlay_id)
        assert found is not None
        self.feed(picture, overlays=[found])
        return overlay_id


@contextlib.asynccontextmanager
async def scene(data_dir: Path, **overrides: Any) -> AsyncIterator[Scene]:
    clock = Clock()
    settings = {"pictures": PICTURES, "alerts": {"tick_s": 3600.0}, **overrides}
    async with clocked_server(data_dir, clock, **settings) as live:
        yield Scene(live, clock, await officers(live))


def run(data_dir: Path, body: Callable[[Scene], Awaitable[None]], **overrides: Any) -> None:
    run_scene(scene(data_dir, **overrides), body, 60)

"""A live server with two pictures (NATO, UKR), an imagery principal, and an imagery
source run by the test (``refresh`` when the test says, not on a timer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from tessera.alerting.feed import AlertInbox
from tessera.alerting.model import AlertNotice, NoticeKind
from tessera.core.model import Label, Principal, Role
from tessera.transports.imagery.config import ImagerySource
from tessera.transports.imagery.runner import ImageryRunner
from tests.support import live_server
from tests.two_pictures import NATO_PICTURE, UKR_PICTURE, officers, run_scene
from tests.two_pictures import Scene as TwoPictures

IMAGERY_LABEL: Final = Label("RESTRICTED", ("NATO",))
IMAGERY_BOT: Final = Principal(
    name="imagery-bot",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.REPORTER,),
    default_label=IMAGERY_LABEL,
)
PICTURES: Final = [NATO_PICTURE, UKR_PICTURE]
WAIT_S: Final = 20.0


class Scene(TwoPictures):
    def runner(self, source: ImagerySource) -> ImageryRunner:
        runner = ImageryRunner(self.live.tessera, source)
        self.live.tessera.imagery.sources[source.name] = runner.status
        return runner

    async def settled(self) -> None:
        """Fusion has taken everything journaled so far."""
        tessera = self.live.tessera
        assert await tessera.worker.wait_caught_up(tessera.journal.last_seq, WAIT_S)


async def raised(inbox: AlertInbox, count: int) -> list[AlertNotice]:
    """The alerts raised, as the alert feed tells them, until ``count`` (bounded)."""
    got: list[AlertNotice] = []
    async with asyncio.timeout(WAIT_S):
        while len(got) < count:
            got += [n for n in await inbox.take() if n.event is NoticeKind.RAISED]
    return got


@contextlib.asynccontextmanager
async def scene(data_dir: Path, **overrides: Any) -> AsyncIterator[Scene]:
    settings = {"pictures": PICTURES, "alerts": {"tick_s": 3600.0}, **overrides}
    async with live_server(data_dir, **settings) as live:
        tokens = {**await officers(live), "bot": await live.grant(IMAGERY_BOT)}
        yield Scene(live, tokens)


def run(data_dir: Path, body: Callable[[Scene], Awaitable[None]], **overrides: Any) -> None:
    run_scene(scene(data_dir, **overrides), body, 120)

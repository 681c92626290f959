"""A live server with two pictures (NATO, UKR), an imagery principal, and an imagery
source run by the test (``refresh`` when the test says, not on a timer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from tessera.alerting.feed import AlertInbox
from tessera.alerting.model import AlertNotice, NoticeKind
from tessera.core.model import Label, Principal, Role
from tessera.transports.imagery.config import ImagerySource
from tessera.transports.imagery.runner import ImageryRunner
from tests.support import Live, bearer, live_server

IMAGERY_LABEL: Final = Label("RESTRICTED", ("NATO",))
IMAGERY_BOT: Final = Principal(
    name="imagery-bot",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.REPORTER,),
    default_label=IMAGERY_LABEL,
)
NATO_OFFICER: Final = Principal(
    name="nato-officer",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.VIEWER, Role.OPERATOR),
)
UKR_LIAISON: Final = Principal(
    name="ukr-liaison",
    communities=("UKR",),
    clearance="CONFIDENTIAL",
    roles=(Role.VIEWER, Role.OPERATOR),
)
PICTURES: Final = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {
        "name": "UKR",
        "rule": {"max_classification": "CONFIDENTIAL", "releasable_to": "UKR"},
        "reader_communities": ["UKR"],
    },
]
WAIT_S: Final = 20.0


@dataclass
class Scene:
    live: Live
    tokens: dict[str, str]

    def client(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.live.base_url, headers=bearer(self.tokens[who]))

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
        tokens = {
            "nato": await live.grant(NATO_OFFICER),
            "ukr": await live.grant(UKR_LIAISON),
            "bot": await live.grant(IMAGERY_BOT),
        }
        yield Scene(live, tokens)


def run(data_dir: Path, body: Callable[[Scene], Awaitable[None]], **overrides: Any) -> None:
    async def main() -> None:
        async with scene(data_dir, **overrides) as the_scene:
            await asyncio.wait_for(body(the_scene), 120)

    asyncio.run(main())

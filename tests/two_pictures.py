"""Two pictures, NATO's and UKR's, each with an officer reading it, for the scenes of tests
on a live server (alerts, imagery): the principals, the pictures' settings, the scene's
clients and how a scene is run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, TypeVar

import httpx

from tessera.core.model import Principal, Role
from tests.support import Live, bearer

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
NATO_PICTURE: Final[dict[str, Any]] = {
    "name": "NATO",
    "rule": {"releasable_to": "NATO"},
    "reader_communities": ["NATO"],
}
UKR_PICTURE: Final[dict[str, Any]] = {
    "name": "UKR",
    "rule": {"max_classification": "CONFIDENTIAL", "releasable_to": "UKR"},
    "reader_communities": ["UKR"],
}
SceneT = TypeVar("SceneT")


async def officers(live: Live) -> dict[str, str]:
    """Tokens for the two pictures' officers, under ``nato`` and ``ukr``."""
    return {"nato": await live.grant(NATO_OFFICER), "ukr": await live.grant(UKR_LIAISON)}


class Scene:
    """A live server and the tokens of those who act in it, by name."""

    def __init__(self, live: Live, tokens: dict[str, str]) -> None:
        self.live = live
        self.tokens = tokens

    def client(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.live.base_url, headers=bearer(self.tokens[who]))


def run_scene(
    scene: AbstractAsyncContextManager[SceneT],
    body: Callable[[SceneT], Awaitable[None]],
    timeout: float,
) -> None:
    """Set the scene up, play ``body`` in it (bounded) and take it down."""

    async def main() -> None:
        async with scene as the_scene:
            await asyncio.wait_for(body(the_scene), timeout)

    asyncio.run(main())

"""Shared by the /ogc tests: two audiences, reports and overlays put into them, and a
walk through a collection's pages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import httpx

from tessera.core.labels import admits
from tessera.core.model import Label, Principal
from tessera.core.overlays import Overlay, OverlayKind
from tests.support import Live, live_server

# Two partners, each reading only the picture of what is releasable to it.
PICTURES: Final = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {"name": "UKR", "rule": {"releasable_to": "UKR"}, "reader_communities": ["UKR"]},
]
NATO_ONLY: Final = {"classification": "SECRET", "releasable_to": ["NATO"]}
UKR_ONLY: Final = {"classification": "RESTRICTED", "releasable_to": ["UKR"]}
SHARED: Final = {"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
NATO_ANALYST: Final = Principal(name="nato-analyst", communities=("NATO",), clearance="SECRET")
UKR_ANALYST: Final = Principal(name="ukr-analyst", communities=("UKR",), clearance="SECRET")
# No tick while a test reads: each picture holds exactly what the reports made of it.
QUIET: Final = {"tick_interval_s": 3600.0}

Scenario = Callable[[Live], Awaitable[None]]


def run_live(tmp_path: Path, scenario: Scenario, **overrides: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path, **{**QUIET, **overrides}) as live:
            await asyncio.wait_for(scenario(live), 120)

    asyncio.run(main())


async def post_reports(live: Live, docs: list[dict[str, Any]]) -> None:
    """Submit as the admin and wait until every picture has fused them."""
    async with live.client() as admin:
        answer = await admin.post("/api/v1/reports", json=docs)
    assert answer.status_code == 202, answer.text
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)


def put_overlays(live: Live, overlays: list[Overlay]) -> None:
    """Into every picture whose rule admits each overlay's label, as fusion would."""
    tessera = live.tessera
    store = tessera.store
    for picture in tessera.pictures.values():
        admitted = [o for o in overlays if admits(picture, o.label, tessera.scheme)]
        store.apply_overlays(picture.name, store.seq(picture.name), admitted, [])


def area(
    overlay_id: str,
    label: dict[str, Any] | Label,
    *,
    west: float = 18.0,
    south: float = 53.0,
    size: float = 0.1,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    updated_at: datetime | None = None,
) -> Overlay:
    if isinstance(label, dict):
        label = Label(label["classification"], tuple(label["releasable_to"]))
    east, north = west + size, south + size
    return Overlay(
        id=overlay_id,
        name=f"area {overlay_id}",
        kind=OverlayKind.AREA,
        coordinates=((west, south), (east, south), (east, north), (west, north), (west, south)),
        label=label,
        valid_from=valid_from,
        valid_to=valid_to,
        updated_at=updated_at,
        author="test",
    )


async def walk(
    client: httpx.AsyncClient, url: str, **params: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of ``url``, following next links: (the pages, all their features)."""
    pages: list[dict[str, Any]] = []
    answer = await client.get(url, params=params)
    while True:
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages.append(page)
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not following:
            break
        answer = await client.get(following[0])
    features = [feature for page in pages for feature in page["features"]]
    return pages, features

"""A retraction over the API withdraws what its sender said of a subject, and nothing
that anybody else said of it, even where both are fused into one picture."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tessera.core.model import Label, Principal, Role
from tessera.store.base import TrackQuery
from tests.support import Live, live_server, report_doc

LABEL = {"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
PEOPLE = {
    name: Principal(
        name=name,
        communities=("NATO", "UKR"),
        clearance="RESTRICTED",
        roles=(Role.VIEWER, Role.REPORTER),
        default_label=Label("RESTRICTED", ("NATO", "UKR")),
    )
    for name in ("alpha", "bravo")
}


def subjects(live: Live) -> list[str]:
    _, tracks = live.tessera.store.tracks("COP", TrackQuery())
    return sorted(track.id.partition("~")[0] for track in tracks)


async def until(live: Live, expected: list[str]) -> None:
    """Wait until the picture's tracks are ``expected`` (their ids without a scope)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while subjects(live) != expected:
        assert loop.time() < deadline, subjects(live)
        await asyncio.sleep(0.02)


def test_a_retraction_withdraws_only_what_its_sender_said(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path) as live:
            tokens = {
                name: await live.grant(person, sources=[f"{name}-*"])
                for name, person in PEOPLE.items()
            }

            async def post(who: str, doc: dict[str, object]) -> None:
                async with live.client(tokens[who], timeout=10) as client:
                    response = await client.post("/api/v1/reports", json=[doc])
                assert response.status_code == 202, response.text

            def said(who: str, **extra: object) -> dict[str, object]:
                doc = report_doc(subject="m1", source=f"{who}-patrol", kind="human", label=LABEL)
                return {**doc, **extra}

            await post("alpha", said("alpha"))
            await post("bravo", said("bravo", position={"lat": 53.2, "lon": 18.0, "ce": 30.0}))
            await until(live, ["sub-m1", "sub-m1"])

            # Bravo withdraws what bravo said; alpha's stands.
            await post("bravo", said("bravo", retraction=True))
            await until(live, ["sub-m1"])
            _, tracks = live.tessera.store.tracks("COP", TrackQuery())
            assert [source.id for source in tracks[0].sources] == ["alpha-patrol"]

            # A retraction names its subject.
            async with live.client(tokens["alpha"], timeout=10) as client:
                bad = {**report_doc(source="alpha-patrol", kind="human"), "retraction": True}
                response = await client.post("/api/v1/reports", json=[bad])
            assert response.status_code == 422
            assert "retraction" in response.text

    asyncio.run(scenario())

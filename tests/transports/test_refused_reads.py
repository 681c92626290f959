"""Refused reads on the audit trail: a picture the caller may not read answers exactly as
one that does not exist, and the trail records each such request once (who, what, from
where, which picture); successful reads are not recorded."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import websockets

from tessera.core.model import Principal, Role
from tests.support import Live, live_server

PICTURES = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {"name": "UKR", "rule": {"releasable_to": "UKR"}, "reader_communities": ["UKR"]},
]
# A picture the partner may not read, and one that does not exist: same length, so even
# Content-Length cannot tell them apart.
HIDDEN, MISSING = "NATO", "NOPE"
OVERLAY = {"name": "OP", "kind": "point", "coordinates": [[18.0, 53.0]]}
# method, path (PICTURE stands for the picture asked for), body, the action audited
REQUESTS: list[tuple[str, str, Any, str]] = [
    ("GET", "/api/v1/tracks?picture=PICTURE", None, "tracks.read"),
    ("GET", "/api/v1/tracks/t1?picture=PICTURE", None, "tracks.read"),
    ("GET", "/api/v1/reports/r1?picture=PICTURE", None, "reports.read"),
    ("GET", "/api/v1/overlays?picture=PICTURE", None, "overlays.read"),
    ("GET", "/api/v1/overlays/o1?picture=PICTURE", None, "overlays.read"),
    ("PUT", "/api/v1/overlays/o1?picture=PICTURE", OVERLAY, "overlays.edit"),
    ("DELETE", "/api/v1/overlays/o1?picture=PICTURE", None, "overlays.delete"),
    ("GET", "/api/v1/export?picture=PICTURE&format=nvg", None, "export"),
    ("GET", "/api/v1/export?picture=PICTURE&format=kmz", None, "export"),
    ("GET", "/ogc/collections/PICTURE-tracks", None, "ogc.read"),
    ("GET", "/ogc/collections/PICTURE-overlays/items?limit=5", None, "ogc.read"),
    ("GET", "/ogc/collections/PICTURE-tracks/items/t1", None, "ogc.read"),
]
# Headers that differ between any two answers.
VARYING = {"date"}


def run(tmp_path: Path, scenario: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path, pictures=PICTURES) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


async def answer(client: httpx.AsyncClient, method: str, path: str, body: Any) -> Any:
    response = await client.request(method, path, json=body)
    headers = {k: v for k, v in response.headers.items() if k not in VARYING}
    return response.status_code, headers, response.content


def same_but_the_name(hidden: Any, missing: Any) -> bool:
    status, headers, content = hidden
    as_missing = (status, headers, content.replace(HIDDEN.encode(), MISSING.encode()))
    return bool(as_missing == missing)


async def trail(live: Live, **query: str) -> list[dict[str, Any]]:
    async with live.client() as admin:
        response = await admin.get("/api/v1/audit", params=query)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


async def subscribe_refused(live: Live, token: str, picture: str) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    async with websockets.connect(live.ws_url, additional_headers=headers) as connection:
        await connection.send(json.dumps({"type": "subscribe", "picture": picture}))
        message: dict[str, Any] = json.loads(await connection.recv())
    return message


def test_a_refused_picture_answers_as_a_missing_one_and_is_audited_once(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        partner = await live.grant(
            Principal(
                name="partner",
                communities=("UKR",),
                clearance="SECRET",
                roles=(Role.VIEWER, Role.REPORTER),
            )
        )
        async with live.client(partner) as client:
            for method, path, body, _ in REQUESTS:
                hidden = await answer(client, method, path.replace("PICTURE", HIDDEN), body)
                missing = await answer(client, method, path.replace("PICTURE", MISSING), body)
                assert hidden[0] == 404, (method, path, hidden)
                assert same_but_the_name(hidden, missing), (method, path, hidden, missing)
            # Reads the partner may make are not on the trail.
            for path in ("/api/v1/tracks?picture=UKR", "/ogc/collections/UKR-tracks/items"):
                assert (await client.get(path)).status_code == 200
        refused_stream = await subscribe_refused(live, partner, HIDDEN)
        missing_stream = await subscribe_refused(live, partner, MISSING)
        assert refused_stream["type"] == "error"
        assert json.dumps(refused_stream).replace(HIDDEN, MISSING) == json.dumps(missing_stream)

        await live.tessera.audit.flush()
        events = await trail(live, principal="partner")
        expected = [
            (action, picture) for _, _, _, action in REQUESTS for picture in (HIDDEN, MISSING)
        ]
        expected += [("stream.subscribe", HIDDEN), ("stream.subscribe", MISSING)]
        assert [(e["action"], e["target"]) for e in events] == expected
        for event in events:
            assert (event["outcome"], event["address"]) == ("denied", "127.0.0.1")
            reason = event["detail"]["reason"]
            if event["target"] == HIDDEN:
                assert reason == "not one of the caller's pictures", event
            else:
                assert reason == "no such picture", event
        ogc = [e for e in events if e["action"] == "ogc.read"]
        assert ogc[0]["detail"]["collection"] == f"{HIDDEN}-tracks"

    run(tmp_path, scenario)


def test_a_principal_without_pictures_is_refused_on_the_trail(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        # No community: neither picture is for it, so there is no default picture either.
        loner = await live.grant(Principal(name="loner", clearance="SECRET"))
        async with live.client(loner) as client:
            tracks = await client.get("/api/v1/tracks")
            export = await client.get("/api/v1/export", params={"format": "geojson"})
        assert tracks.status_code == export.status_code == 404
        await live.tessera.audit.flush()
        events = await trail(live, principal="loner", outcome="denied")
        assert [(e["action"], e["target"], e["detail"]["reason"]) for e in events] == [
            ("tracks.read", "", "the caller may read no picture"),
            ("export", "", "the caller may read no picture"),
        ]

    run(tmp_path, scenario)

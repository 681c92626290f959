"""Overlays through /api/v1/overlays: created, edited and deleted through the journal,
shown only through pictures that admit their label, carried on the stream, and rebuilt
from the journal on restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

from tessera.core.model import Label, Principal, Role
from tests.support import Live, live_server

UNIT_SIDC = "10031000001211000000"
Scenario = Callable[[Live, httpx.AsyncClient], Awaitable[None]]
PICTURES = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {"name": "UKR", "rule": {"releasable_to": "UKR"}, "reader_communities": ["UKR"]},
]
NATO = {"classification": "UNCLASSIFIED", "releasable_to": ["NATO"]}
BOTH = {"classification": "UNCLASSIFIED", "releasable_to": ["NATO", "UKR"]}
NATO_REPORTER = Principal(
    name="nato-reporter",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("UNCLASSIFIED", ("NATO",)),
)
NATO_COLLEAGUE = Principal(
    name="nato-colleague",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.VIEWER, Role.REPORTER),
)
NATO_JUNIOR = Principal(
    name="nato-junior",
    communities=("NATO",),
    clearance="CONFIDENTIAL",
    roles=(Role.VIEWER, Role.REPORTER),
)
NATO_OPERATOR = Principal(
    name="nato-operator",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.VIEWER, Role.OPERATOR),
)
UKR_VIEWER = Principal(name="ukr-viewer", communities=("UKR",), clearance="SECRET")


def run_live(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        async with (
            live_server(tmp_path, pictures=PICTURES, tick_interval_s=3600.0) as live,
            live.client(timeout=10) as client,
        ):
            await asyncio.wait_for(scenario(live, client), 60)

    asyncio.run(main())


def area(name: str = "Objective area", label: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "kind": "area",
        "coordinates": [[18.0, 53.0], [18.1, 53.0], [18.1, 53.1]],
        "sidc": "10002500001101000000",
        "remarks": "hold until relieved",
        "valid_from": "2026-11-25T06:00:00Z",
        "valid_to": "2026-11-26T06:00:00Z",
    }
    if label is not None:
        doc["label"] = label
    return doc


async def created(live: Live, client: httpx.AsyncClient, doc: dict[str, Any]) -> str:
    answer = await client.post("/api/v1/overlays", json=doc)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["location"] == f"/api/v1/overlays/{body['id']}"
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
    overlay_id: str = body["id"]
    return overlay_id


def test_every_kind_is_created_read_edited_and_deleted(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        shapes = [
            {"name": "OP 1", "kind": "point", "coordinates": [[18.0, 53.0]]},
            {"name": "MSR", "kind": "line", "coordinates": [[18.0, 53.0], [18.2, 53.1, 120.0]]},
            area(),
            {"name": "Zone", "kind": "circle", "coordinates": [[18.0, 53.0]], "radius_m": 500},
            {
                "name": "Air corridor",
                "kind": "corridor",
                "coordinates": [[18.0, 53.0], [18.5, 53.5]],
                "width_m": 2000,
            },
        ]
        ids = [await created(live, client, {**shape, "label": NATO}) for shape in shapes]
        listed = await client.get("/api/v1/overlays", params={"picture": "NATO"})
        assert listed.status_code == 200
        features = {f["id"]: f for f in listed.json()["features"]}
        assert set(features) == set(ids)
        geometry = {f["properties"]["kind"]: f["geometry"]["type"] for f in features.values()}
        assert geometry == {
            "point": "Point",
            "line": "LineString",
            "area": "Polygon",
            "circle": "Polygon",
            "corridor": "Polygon",
        }
        one = (await client.get(f"/api/v1/overlays/{ids[2]}", params={"picture": "NATO"})).json()
        props = one["properties"]
        assert props["author"] == "test-admin"
        assert props["updated_at"] is not None
        # The open ring came back closed.
        assert one["geometry"]["coordinates"][0][0] == one["geometry"]["coordinates"][0][-1]

        edited = await client.put(
            f"/api/v1/overlays/{ids[2]}",
            params={"picture": "NATO"},
            json={**area("Objective area (moved)"), "label": NATO},
        )
        assert edited.status_code == 200, edited.text
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
        again = await client.get(f"/api/v1/overlays/{ids[2]}", params={"picture": "NATO"})
        assert again.json()["properties"]["name"] == "Objective area (moved)"

        gone = await client.delete(f"/api/v1/overlays/{ids[0]}", params={"picture": "NATO"})
        assert gone.status_code == 204
        await asyncio.sleep(0)
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
        missing = await client.get(f"/api/v1/overlays/{ids[0]}", params={"picture": "NATO"})
        assert missing.status_code == 404

    run_live(tmp_path, scenario)


def test_bad_overlays_are_refused_naming_the_field(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        cases: list[tuple[dict[str, Any], str]] = [
            ({"name": "x", "kind": "area", "coordinates": [[18, 53], [18.1, 53]]}, "coordinates"),
            ({"name": "x", "kind": "circle", "coordinates": [[18, 53]]}, "radius_m"),
            ({"name": "x", "kind": "point", "coordinates": [[181, 53]]}, "coordinates[0][0]"),
            ({"name": "x", "kind": "point", "coordinates": [[18, 53]], "colour": "red"}, "$"),
            ({"name": "x", "kind": "blob", "coordinates": [[18, 53]]}, "kind"),
            ({"name": "x", "kind": "point", "coordinates": [[18, 53]], "sidc": "123"}, "sidc"),
            (
                {"name": "x", "kind": "point", "coordinates": [[18, 53]], "sidc": "1" * 20},
                "sidc",
            ),
            (
                # A unit's symbol, not a control measure's.
                {"name": "x", "kind": "point", "coordinates": [[18, 53]], "sidc": UNIT_SIDC},
                "sidc",
            ),
            (
                {"name": "x", "kind": "line", "coordinates": [[18, 53], [18, 54]], "width_m": 5},
                "width_m",
            ),
            ({**area(), "valid_to": "2026-11-24T00:00:00Z"}, "valid_to"),
        ]
        for doc, field in cases:
            answer = await client.post("/api/v1/overlays", json={**doc, "label": NATO})
            assert answer.status_code == 422, (doc, answer.text)
            fields = [error["field"] for error in answer.json()["errors"]]
            assert field in fields, (doc, fields)
        # No label and no default for the sender (the test admin has one: use another).
        colleague = await live.grant(NATO_JUNIOR)
        async with live.client(colleague) as other:
            unlabelled = await other.post("/api/v1/overlays", json=area())
            assert unlabelled.status_code == 422
            assert unlabelled.json()["errors"][0]["field"] == "label"
            beyond = await other.post(
                "/api/v1/overlays", json=area(label={"classification": "SECRET"})
            )
            assert beyond.status_code == 403
            foreign = await other.post(
                "/api/v1/overlays", json=area(label={**NATO, "releasable_to": ["UKR"]})
            )
            assert foreign.status_code == 403
        wrong_type = await client.post(
            "/api/v1/overlays", content=b"name=x", headers={"content-type": "text/plain"}
        )
        assert wrong_type.status_code == 415
        assert (await client.get("/api/v1/overlays", params={"picture": "NATO"})).json()[
            "features"
        ] == []

    run_live(tmp_path, scenario)


def test_only_the_author_or_an_operator_changes_an_overlay(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        author = await live.grant(NATO_REPORTER)
        colleague = await live.grant(NATO_COLLEAGUE)
        operator = await live.grant(NATO_OPERATOR)
        async with live.client(author) as mine:
            overlay_id = await created(live, mine, area())  # labelled by the default
        path = f"/api/v1/overlays/{overlay_id}"
        params = {"picture": "NATO"}
        async with live.client(colleague) as other:
            refused = await other.put(path, params=params, json=area("Mine now", NATO))
            assert refused.status_code == 403
            assert (await other.delete(path, params=params)).status_code == 403
        async with live.client(operator) as boss:
            edited = await boss.put(path, params=params, json=area("Corrected", NATO))
            assert edited.status_code == 200
            assert edited.json()["overlay"]["properties"]["author"] == "nato-reporter"
            assert (await boss.delete(path, params=params)).status_code == 204
        audit = (await client.get("/api/v1/audit")).json()["events"]
        actions = [(e["principal"], e["action"], e["outcome"]) for e in audit]
        assert ("nato-reporter", "overlays.create", "ok") in actions
        assert ("nato-colleague", "overlays.edit", "denied") in actions
        assert ("nato-operator", "overlays.delete", "ok") in actions

    run_live(tmp_path, scenario)


def test_overlays_show_only_through_pictures_that_admit_their_label(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        nato_only = await created(live, client, area("NATO only", NATO))
        shared = await created(live, client, area("Shared", BOTH))
        partner = await live.grant(UKR_VIEWER)
        async with live.client(partner) as ukr:
            listed = (await ukr.get("/api/v1/overlays", params={"picture": "UKR"})).json()
            assert [f["id"] for f in listed["features"]] == [shared]
            hidden = await ukr.get(f"/api/v1/overlays/{nato_only}", params={"picture": "UKR"})
            missing = await ukr.get("/api/v1/overlays/nothing", params={"picture": "UKR"})
            assert hidden.status_code == missing.status_code == 404
            assert hidden.json()["error"].replace(nato_only, "nothing") == missing.json()["error"]
            other = await ukr.get("/api/v1/overlays", params={"picture": "NATO"})
            assert other.status_code == 404
            # A viewer cannot write at all.
            assert (await ukr.post("/api/v1/overlays", json=area())).status_code == 403

        # Relabelled to NATO only, the shared overlay leaves the partner's picture.
        edited = await client.put(
            f"/api/v1/overlays/{shared}", params={"picture": "NATO"}, json=area("Shared", NATO)
        )
        assert edited.status_code in (200, 202), edited.text
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
        assert live.tessera.store.overlay("UKR", shared) is None
        assert live.tessera.store.overlay("NATO", shared) is not None

    run_live(tmp_path, scenario)


def test_a_retry_with_the_same_idempotency_key_is_stored_once(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        headers = {"idempotency-key": "draw-1"}
        first = await client.post("/api/v1/overlays", json=area(label=NATO), headers=headers)
        retried = await client.post("/api/v1/overlays", json=area(label=NATO), headers=headers)
        # A retried create answers as the first did: the same overlay, made once.
        assert retried.status_code == first.status_code == 201
        assert retried.json() == first.json()
        overlay_id = first.json()["id"]
        path = f"/api/v1/overlays/{overlay_id}"
        edit = {"idempotency-key": "edit-1"}
        once = await client.put(
            path, params={"picture": "NATO"}, json=area(label=NATO), headers=edit
        )
        twice = await client.put(
            path, params={"picture": "NATO"}, json=area(label=NATO), headers=edit
        )
        assert once.status_code == twice.status_code == 200
        assert twice.json() == once.json()
        assert set(once.json()) == {"id", "revision", "overlay"}
        entries = await live.tessera.journal.read(0, 100)
        revisions = [e.overlay for e in entries if e.overlay is not None]
        assert [r.id for r in revisions] == [first.json()["revision"], once.json()["revision"]]
        # The keys the client chose are its own: stored as keys nobody else can reach.
        assert not {"draw-1", "edit-1"} & {r.id for r in revisions}

    run_live(tmp_path, scenario)


def test_the_stream_carries_overlays(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        before = await created(live, client, area("Before", NATO))
        connection = await websockets.connect(
            live.ws_url, additional_headers=live.headers, max_size=None
        )
        async with connection:
            await connection.send(json.dumps({"type": "subscribe", "picture": "NATO"}))
            snapshot = await _next(connection, "snapshot")
            assert [f["id"] for f in snapshot["overlays"]] == [before]
            after = await created(live, client, area("After", NATO))
            changes = await _next(connection, "changes")
            assert [f["id"] for f in changes["overlays"]] == [after]
            assert changes["upserts"] == changes["removes"] == []
            await client.delete(f"/api/v1/overlays/{before}", params={"picture": "NATO"})
            removed = await _next(connection, "changes")
            assert removed["overlay_removes"] == [before]
        # Outside a subscription's bounding box, an overlay is not sent.
        connection = await websockets.connect(
            live.ws_url, additional_headers=live.headers, max_size=None
        )
        async with connection:
            far = {"type": "subscribe", "picture": "NATO", "bbox": [10, 40, 11, 41]}
            await connection.send(json.dumps(far))
            assert (await _next(connection, "snapshot"))["overlays"] == []

    run_live(tmp_path, scenario)


def test_overlays_are_rebuilt_from_the_journal_on_restart(tmp_path: Path) -> None:
    async def first_run() -> str:
        async with live_server(tmp_path, pictures=PICTURES) as live, live.client() as client:
            kept = await created(live, client, area("Kept", NATO))
            dropped = await created(live, client, area("Dropped", NATO))
            await client.delete(f"/api/v1/overlays/{dropped}", params={"picture": "NATO"})
            return kept

    async def second_run(kept: str) -> None:
        async with live_server(tmp_path, pictures=PICTURES) as live, live.client() as client:
            listed = (await client.get("/api/v1/overlays", params={"picture": "NATO"})).json()
            assert [f["id"] for f in listed["features"]] == [kept]
            assert listed["features"][0]["properties"]["name"] == "Kept"

    kept = asyncio.run(first_run())
    asyncio.run(second_run(kept))


async def _next(connection: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 10))
        if message["type"] == kind:
            return message
        assert message["type"] == "heartbeat", message

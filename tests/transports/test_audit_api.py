"""``GET /api/v1/audit`` filtered by action, principal, outcome and time; bad parameters
refused by name; the OpenAPI document says what the route takes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.core.model import Principal
from tessera.security.audit_filter import OUTCOMES
from tessera.security.base import AuditEvent
from tessera.transports.web.audit_query import AUDIT_PARAMETERS
from tessera.transports.web.openapi import openapi_document
from tessera.transports.web.routes import api_routes
from tests.support import Live, live_server

START = datetime(2001, 5, 4, 9, 0, tzinfo=UTC)
# minute, principal, action, outcome
EVENTS = [
    (0, "alice", "login", "ok"),
    (1, "bob", "tracks.read", "denied"),
    (2, "alice", "overlays.create", "ok"),
    (3, None, "login", "failed"),
    (4, "alice", "overlays.edit", "denied"),
    (5, "bob", "export", "denied"),
]


def run(tmp_path: Path, scenario: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path) as live:
            await live.tessera.security.append_audit(
                [
                    AuditEvent(
                        at=START + timedelta(minutes=m), principal=who, action=act, outcome=out
                    )
                    for m, who, act, out in EVENTS
                ]
            )
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


async def minutes(client: httpx.AsyncClient, **query: str) -> list[int]:
    response = await client.get("/api/v1/audit", params=query)
    assert response.status_code == 200, response.text
    return [
        int((datetime.fromisoformat(e["at"]) - START) / timedelta(minutes=1))
        for e in response.json()["events"]
        # Only the events written above, not the server's own of today.
        if datetime.fromisoformat(e["at"]) < START + timedelta(days=1)
    ]


def test_the_trail_is_read_by_action_principal_outcome_and_time(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as admin:
            assert await minutes(admin, action="login") == [0, 3]
            assert await minutes(admin, action="overlays.") == [2, 4]
            assert await minutes(admin, principal="alice") == [0, 2, 4]
            assert await minutes(admin, outcome="denied") == [1, 4, 5]
            assert await minutes(admin, principal="bob", outcome="denied") == [1, 5]
            window = {"since": "2001-05-04T09:01:00Z", "until": "2001-05-04T11:04:00+02:00"}
            assert await minutes(admin, **window) == [1, 2, 3]
            first = await admin.get("/api/v1/audit", params={"outcome": "ok", "limit": "1"})
            (only,) = first.json()["events"]
            after = {"outcome": "ok", "after": str(only["seq"]), "until": "2001-05-05T00:00:00Z"}
            assert await minutes(admin, **after) == [2]
            # The read, and what it asked for, is on the trail.
            read = (await admin.get("/api/v1/audit", params={"action": "audit.read"})).json()
            queries = [e["detail"].get("query") for e in read["events"]]
            assert {"principal": "bob", "outcome": "denied"} in queries

    run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"actor": "alice"}, "actor"),
        ({"outcome": "maybe"}, "outcome"),
        ({"action": ""}, "action"),
        ({"principal": "x" * 201}, "principal"),
        ({"principal": "a\x07b"}, "principal"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-05-04T09:00:00"}, "until"),
        ({"since": "2026-05-04T10:00:00Z", "until": "2026-05-04T09:00:00Z"}, "until"),
        ({"after": "-1"}, "after"),
        ({"after": "9" * 40}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
    ],
)
def test_a_bad_parameter_is_refused_by_name(
    tmp_path: Path, query: dict[str, str], parameter: str
) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as admin:
            response = await admin.get("/api/v1/audit", params=query)
        assert response.status_code == 400, response.text
        assert response.json()["parameter"] == parameter

    run(tmp_path, scenario)


def test_a_repeated_parameter_is_refused(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as admin:
            response = await admin.get("/api/v1/audit?principal=alice&principal=bob")
        assert response.status_code == 400
        assert response.json()["parameter"] == "principal"

    run(tmp_path, scenario)


def test_a_viewer_may_not_read_the_trail_however_filtered(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        viewer = await live.grant(Principal(name="viewer", clearance="SECRET"))
        async with live.client(viewer) as client:
            response = await client.get("/api/v1/audit", params={"principal": "viewer"})
        assert response.status_code == 403

    run(tmp_path, scenario)


def test_the_openapi_document_gives_the_audit_parameters() -> None:
    document = openapi_document(api_routes(), set())
    parameters = document["paths"]["/api/v1/audit"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == list(AUDIT_PARAMETERS)
    outcome = next(p for p in parameters if p["name"] == "outcome")
    assert outcome["schema"]["enum"] == list(OUTCOMES)

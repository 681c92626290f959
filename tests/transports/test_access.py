"""Who gets in, and what each answer is: generated from the route table, so a new route
without a policy, or with one that is not enforced, fails here."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from websockets.typing import Subprotocol

from tessera.core.model import Label, Principal, Role
from tessera.settings import Settings
from tessera.transports.web.auth import route_policies
from tessera.transports.web.routes import POLICIES, api_routes
from tests.support import Live, live_server, report_doc, stored_id, track_of

Scenario = Callable[[Live], Awaitable[None]]


def run_live(tmp_path: Path, scenario: Scenario, **overrides: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path, **overrides) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "nope", path)


def _routes(live: Live) -> list[BaseRoute]:
    routes: list[BaseRoute] = live.tessera.asgi.routes
    return routes


async def _ws_refused(live: Live, path: str, headers: dict[str, str] | None) -> bool:
    url = live.base_url.replace("http://", "ws://") + path
    try:
        async with websockets.connect(url, additional_headers=headers):
            return False
    except websockets.InvalidStatus as exc:
        return exc.response.status_code == 403


def test_a_route_without_a_policy_is_refused_at_build() -> None:
    routes = [*api_routes(), Route("/api/v1/new", lambda _r: None, name="new_route")]
    with pytest.raises(RuntimeError, match="no access policy"):
        route_policies(routes, POLICIES)


def test_every_route_answers_401_403_or_its_content_by_policy(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        # A principal that holds no role at all: every guarded route refuses it with 403.
        nobody = await live.grant(Principal(name="no-roles", clearance="SECRET", roles=()))
        # For each policy, a principal holding every role but the ones it names: refused
        # too (several routes share a path, each method with its own policy).
        others: dict[tuple[Role, ...], str] = {}
        for needed in {p.roles for p in POLICIES.values() if not p.public}:
            rest = tuple(role for role in Role if role not in needed)
            if rest:
                name = "all-but-" + "-".join(needed)
                principal = Principal(name=name, clearance="SECRET", unrestricted=True, roles=rest)
                others[needed] = await live.grant(principal)
        routes = _routes(live)
        assert {getattr(route, "name", None) for route in routes} == set(POLICIES)
        async with httpx.AsyncClient(base_url=live.base_url) as anonymous:
            for route in routes:
                policy = POLICIES[route.name]  # type: ignore[attr-defined]
                if isinstance(route, Mount):
                    response = await anonymous.get(route.path + "/app.js")
                    assert response.status_code == 200, route.path
                    continue
                path = _concrete(route.path)  # type: ignore[attr-defined]
                if isinstance(route, WebSocketRoute):
                    assert await _ws_refused(live, path, None)
                    assert await _ws_refused(live, path, {"authorization": f"Bearer {nobody}"})
                    continue
                assert isinstance(route, Route) and route.methods
                method = sorted(route.methods - {"HEAD"})[0]
                bare = await anonymous.request(method, path)
                if policy.public:
                    assert bare.status_code not in (401, 403), path
                    continue
                assert bare.status_code == 401, (method, path)
                assert bare.headers["www-authenticate"].startswith("Bearer")
                assert "error" in bare.json()
                wrong = await anonymous.request(method, path, headers=_bearer(nobody))
                assert wrong.status_code == 403, (method, path)
                if policy.roles in others:
                    other = _bearer(others[policy.roles])
                    lacking = await anonymous.request(method, path, headers=other)
                    assert lacking.status_code == 403, (method, path, policy)
                allowed = await anonymous.request(method, path, headers=live.headers)
                assert allowed.status_code not in (401, 403), (method, path)
            # A path no route serves says nothing to a stranger.
            assert (await anonymous.get("/api/v1/secret-things")).status_code == 401
            assert (await anonymous.get("/api/v1/health")).status_code == 200
            assert (await anonymous.get("/")).status_code == 200

    run_live(tmp_path, scenario)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_roles_are_checked_on_writes_and_admin_calls(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        viewer = await live.grant(Principal(name="viewer", clearance="SECRET", unrestricted=True))
        async with live.client(viewer) as client:
            refused = await client.post("/api/v1/reports", json=[report_doc()])
            assert refused.status_code == 403
            assert "reporter" in refused.json()["error"]
            assert (await client.get("/api/v1/audit")).status_code == 403
            assert (await client.get("/api/v1/principals")).status_code == 403
            assert (await client.get("/api/v1/tracks")).status_code == 200

    run_live(tmp_path, scenario)


def test_expired_revoked_and_disabled_credentials_are_refused(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        now = live.tessera.clock()
        expired = await live.grant(
            Principal(name="late", clearance="SECRET"), expires_at=now - timedelta(seconds=1)
        )
        fresh = await live.grant(
            Principal(name="fresh", clearance="SECRET"), expires_at=now + timedelta(hours=1)
        )
        revoked = await live.grant(Principal(name="gone", clearance="SECRET"))
        disabled = await live.grant(Principal(name="barred", clearance="SECRET"))
        store = live.tessera.security
        await store.revoke_token(revoked.split("_")[1], now)
        await store.set_disabled("barred", True)
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            assert (await client.get("/api/v1/me", headers=_bearer(fresh))).status_code == 200
            for token in (expired, revoked, disabled, "tsr_garbage", fresh[:-1] + "x"):
                answer = await client.get("/api/v1/me", headers=_bearer(token))
                assert answer.status_code == 401, token

    run_live(tmp_path, scenario)


def test_a_stream_ends_when_its_token_is_revoked(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        token = await live.grant(Principal(name="watcher", clearance="SECRET", unrestricted=True))
        # A browser offers the token as a subprotocol and gets tessera.v1 back.
        async with websockets.connect(
            live.ws_url, subprotocols=[Subprotocol("tessera.v1"), Subprotocol(f"bearer.{token}")]
        ) as connection:
            assert connection.subprotocol == "tessera.v1"
            await connection.send(json.dumps({"type": "subscribe"}))
            assert json.loads(await connection.recv())["type"] == "snapshot"
            await live.tessera.security.revoke_token(token.split("_")[1], live.tessera.clock())
            while True:
                message = json.loads(await connection.recv())
                if message["type"] == "error":
                    break
            assert "no longer valid" in message["reason"]
            with pytest.raises(websockets.ConnectionClosed):
                await connection.recv()
            assert connection.close_code == 1008

    run_live(tmp_path, scenario, heartbeat_s=0.2)


def test_failed_sign_ins_are_limited_per_address(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            for _ in range(3):
                answer = await client.post("/api/v1/login", json={"token": "tsr_wrong"})
                assert answer.status_code == 401
            blocked = await client.post("/api/v1/login", json={"token": "tsr_wrong"})
            assert blocked.status_code == 429
            assert int(blocked.headers["retry-after"]) >= 1
            # Once blocked, the address is refused whatever it sends, a good token too.
            good = await client.get("/api/v1/me", headers=live.headers)
            assert good.status_code == 429

    run_live(tmp_path, scenario, auth_failures_allowed=3)


def test_requests_are_rate_limited_per_principal(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            codes = [(await client.get("/api/v1/me")).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200]
        assert 429 in codes[3:]

    run_live(tmp_path, scenario, requests_per_second=0.01, request_burst=3)


def test_sign_in_answers_whose_token_it_is(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            answer = await client.post("/api/v1/login", json={"token": live.token})
            assert answer.status_code == 200
            body = answer.json()
            assert body["principal"]["name"] == "test-admin"
            assert [p["name"] for p in body["pictures"]] == ["COP"]
            assert body["pictures"][0]["banner"]["text"] == "SECRET"
            assert body["token"]["id"] == live.token.split("_")[1]
            # What the map's overlay form offers: the levels, and the sender's default.
            assert body["levels"] == ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"]
            default = {"classification": "UNCLASSIFIED", "releasable_to": []}
            assert body["principal"]["default_label"] == default
            me = await client.get("/api/v1/me", headers=live.headers)
            assert me.json()["levels"] == body["levels"]
            assert (await client.post("/api/v1/login", content=b"{")).status_code == 422
            big = {"token": "x" * 100_000}
            assert (await client.post("/api/v1/login", json=big)).status_code == 413

    run_live(tmp_path, scenario)


def test_labels_are_required_and_never_beyond_the_sender(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        partner = await live.grant(
            Principal(
                name="partner",
                communities=("UKR",),
                clearance="CONFIDENTIAL",
                roles=(Role.VIEWER, Role.REPORTER),
            )
        )
        async with live.client(partner) as client:
            unlabelled = await client.post("/api/v1/reports", json=[report_doc()])
            assert unlabelled.status_code == 422
            assert unlabelled.json()["errors"][0]["field"] == "label"
            # The settings give this source a default label: accepted.
            labelled_by_source = [report_doc(source="ukr-drone-1")]
            assert (
                await client.post("/api/v1/reports", json=labelled_by_source)
            ).status_code == 202
            too_high = report_doc(label={"classification": "SECRET", "releasable_to": ["UKR"]})
            not_ours = report_doc(label={"classification": "RESTRICTED", "releasable_to": ["NATO"]})
            ok = report_doc(
                label={"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
            )
            refused = await client.post("/api/v1/reports", json=[ok, too_high, not_ours])
            assert refused.status_code == 403
            reasons = {error["index"]: error["reason"] for error in refused.json()["errors"]}
            assert set(reasons) == {1, 2}
            assert "clearance" in reasons[1] and "releasable" in reasons[2]
        # A principal's own default label labels what it sends without one.
        defaulted = await live.grant(
            Principal(
                name="defaulted",
                communities=("UKR",),
                clearance="CONFIDENTIAL",
                roles=(Role.REPORTER,),
                default_label=Label("RESTRICTED", ("UKR",)),
            )
        )
        async with live.client(defaulted) as client:
            answer = await client.post("/api/v1/reports", json=[report_doc(report_id="d1")])
            assert answer.status_code == 202
        key = stored_id(live, "d1", "defaulted")
        stored = await live.tessera.journal.reports([key])
        assert stored[key].label == Label("RESTRICTED", ("UKR",))

    source_labels = {"ukr-drone-1": {"classification": "RESTRICTED", "releasable_to": ["UKR"]}}
    run_live(tmp_path, scenario, source_labels=source_labels)


def test_the_audit_trail_records_who_did_what_from_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []

    async def scenario(live: Live) -> None:
        viewer = await live.grant(Principal(name="viewer", clearance="SECRET"))
        secrets.extend([live.token, viewer])
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            await client.post("/api/v1/login", json={"token": viewer})
            await client.post("/api/v1/login", json={"token": viewer[:-2] + "xx"})
            await client.post("/api/v1/reports", json=[report_doc()], headers=_bearer(viewer))
            posted = await client.post(
                "/api/v1/reports", json=[report_doc(), report_doc()], headers=live.headers
            )
            assert posted.status_code == 202
            assert (await client.get("/api/v1/audit", headers=_bearer(viewer))).status_code == 403
            events = (await client.get("/api/v1/audit", headers=live.headers)).json()["events"]
            later = await client.get(
                "/api/v1/audit", params={"after": events[-1]["seq"]}, headers=live.headers
            )
            bad = await client.get("/api/v1/audit", params={"since": "x"}, headers=live.headers)
        assert bad.status_code == 400
        seen = {(e["principal"], e["action"], e["outcome"]) for e in events}
        assert ("viewer", "login", "ok") in seen
        assert (None, "login", "failed") in seen
        assert ("viewer", "access", "denied") in seen
        assert ("test-admin", "reports.submit", "ok") in seen
        submit = next(e for e in events if e["action"] == "reports.submit")
        assert submit["detail"]["reports"] == 2 and submit["address"] == "127.0.0.1"
        # Reading the trail is itself on the trail.
        assert [e["action"] for e in later.json()["events"]] == ["audit.read"]
        text = json.dumps(events)
        assert not any(secret.split("_", 2)[2] in text for secret in secrets)

    run_live(tmp_path, scenario)
    logged = caplog.text
    assert secrets and not any(secret.split("_", 2)[2] in logged for secret in secrets)


def test_secure_defaults() -> None:
    assert Settings().host == "127.0.0.1"
    assert Settings().default_label is None


def test_secure_headers_on_every_response(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            for path in ("/", "/static/app.js", "/api/v1/health", "/api/v1/tracks"):
                headers = (await client.get(path)).headers
                assert headers["x-content-type-options"] == "nosniff"
                assert headers["x-frame-options"] == "DENY"
                assert "frame-ancestors 'none'" in headers["content-security-policy"]
                assert "script-src 'self'" in headers["content-security-policy"]
            api = await client.get("/api/v1/tracks", headers=live.headers)
            assert api.headers["cache-control"] == "no-store"

    run_live(tmp_path, scenario)


def test_outside_the_callers_pictures_is_exactly_like_not_existing(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        secret = {"classification": "SECRET", "releasable_to": ["NATO"]}
        async with live.client() as admin:
            posted = await admin.post(
                "/api/v1/reports", json=[report_doc(report_id="s1", lat=53.0, label=secret)]
            )
            assert posted.status_code in (200, 202), posted.text
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
        partner = await live.grant(
            Principal(name="partner", communities=("UKR",), clearance="SECRET")
        )
        async with live.client(partner) as client:
            track, report = track_of(live, "s1"), stored_id(live, "s1")
            for path, hidden, missing in (
                ("/api/v1/tracks/{}", track, "trk-none"),
                ("/api/v1/reports/{}", report, "none"),
                ("/api/v1/reports/{}", "s1", "none"),
                ("/api/v1/tracks?picture={}", "NATO", "NONE"),
            ):
                seen = await client.get(path.format(hidden))
                unseen = await client.get(path.format(missing))
                assert seen.status_code == unseen.status_code == 404
                assert set(seen.json()) == set(unseen.json()) == {"error"}
                assert seen.json()["error"].replace(hidden, missing) == unseen.json()["error"]

    pictures = [
        {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
        {"name": "UKR", "rule": {"releasable_to": "UKR"}, "reader_communities": ["UKR"]},
    ]
    run_live(tmp_path, scenario, pictures=pictures)

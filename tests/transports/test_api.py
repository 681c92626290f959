"""The REST API against a live server: ingest, reads through pictures, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.core.labels import AdmissionRule, Picture
from tessera.journal.base import JournalUnavailableError
from tessera.transports.web.routes import api_routes
from tests.support import Live, live_server, report_doc, stored_id, track_of

Scenario = Callable[[Live, httpx.AsyncClient], Awaitable[None]]

PICTURES = (
    Picture(name="COP"),
    Picture(
        name="REL-UKR",
        rule=AdmissionRule(max_classification="RESTRICTED", releasable_to="UKR"),
    ),
)


def run_live(tmp_path: Path, scenario: Scenario, **overrides: Any) -> None:
    async def main() -> None:
        async with (
            live_server(tmp_path, **overrides) as live,
            live.client(timeout=10) as client,
        ):
            await scenario(live, client)

    asyncio.run(main())


async def fused(live: Live) -> None:
    """Wait until fusion has taken in everything journaled so far."""
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, timeout=10)


def test_post_answers_202_with_the_ids_readers_see_once_durable(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        docs = [report_doc(report_id="r1"), report_doc(lat=53.5)]
        response = await client.post("/api/v1/reports", json=docs)
        assert response.status_code == 202
        body = response.json()
        # The id as the sender's own, and nothing that counts anybody's writes.
        assert body["accepted"][0] == stored_id(live, "r1")
        assert len(body["accepted"]) == 2 and body["accepted"][1]
        assert set(body) == {"accepted"}
        # Durable means readable from the journal by the time the answer arrived.
        stored = await live.tessera.journal.reports(body["accepted"])
        assert set(stored) == set(body["accepted"])

    run_live(tmp_path, scenario)


def test_retried_batch_is_accepted_and_stored_once(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        docs = [report_doc(report_id=f"r{i}", lat=53 + i / 100) for i in range(5)]
        first = (await client.post("/api/v1/reports", json=docs)).json()
        again = await client.post("/api/v1/reports", json=docs)
        assert again.status_code == 202
        body = again.json()
        # A repeat answers exactly as the first write did.
        assert body == first
        entries = await live.tessera.journal.read(0, 1000)
        assert len([entry for entry in entries if entry.report is not None]) == 5

    run_live(tmp_path, scenario)


def test_one_invalid_item_rejects_the_whole_batch_naming_each_problem(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        bad_lat = report_doc(lat=91.0)
        bad_grading = report_doc(grading="G9")
        docs = [report_doc(report_id="fine"), bad_lat, bad_grading]
        response = await client.post("/api/v1/reports", json=docs)
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert {key: errors[0][key] for key in ("index", "field")} == {
            "index": 1,
            "field": "position.lat",
        }
        assert errors[1]["index"] == 2 and errors[1]["field"] == "grading"
        assert all(error["reason"] for error in errors)
        assert await live.tessera.journal.reports([stored_id(live, "fine")]) == {}

    run_live(tmp_path, scenario)


@pytest.mark.parametrize(
    ("content", "status", "needle"),
    [
        (b'{"not": "a list"}', 422, "array"),
        (b"[]", 422, "empty"),
        (b"[{", 422, "truncated"),
        (b"\xff\xfe", 422, ""),
    ],
)
def test_malformed_bodies_get_clean_errors(
    tmp_path: Path, content: bytes, status: int, needle: str
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/v1/reports", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == status
        assert needle in response.text

    run_live(tmp_path, scenario)


def test_size_limits_answer_413_and_wrong_type_415(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        big = [report_doc(report_id=f"r{i}") for i in range(30)]
        response = await client.post("/api/v1/reports", json=big)
        assert response.status_code == 413
        too_many = [report_doc(report_id=f"s{i}") for i in range(6)]
        small_docs = await client.post("/api/v1/reports", json=too_many[:1])
        assert small_docs.status_code == 202
        response = await client.post(
            "/api/v1/reports", content=b"lat=1", headers={"content-type": "text/plain"}
        )
        assert response.status_code == 415

    run_live(tmp_path, scenario, max_body_bytes=4096)

    async def too_many_items(live: Live, client: httpx.AsyncClient) -> None:
        docs = [report_doc(report_id=f"t{i}") for i in range(6)]
        response = await client.post("/api/v1/reports", json=docs)
        assert response.status_code == 413
        assert "more than 5" in response.json()["error"]

    run_live(tmp_path / "items", too_many_items, max_batch_items=5)


def test_tracks_as_geojson_with_filters(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        docs = [
            report_doc(subject="bn-1", kind="unit", source="bn-1", identity="friend", lat=53.5),
            report_doc(lat=53.1, lon=18.0, identity="hostile", grading="A1"),
            report_doc(lat=53.1001, lon=18.0001, identity="hostile", grading="A1"),
            report_doc(lat=54.5, lon=19.0, identity="unknown"),
        ]
        assert (await client.post("/api/v1/reports", json=docs)).status_code == 202
        await fused(live)
        collection = (await client.get("/api/v1/tracks")).json()
        assert collection["type"] == "FeatureCollection"
        assert collection["count"] == 3 and collection["seq"] > 0
        feature = collection["features"][0]
        assert feature["geometry"]["type"] == "Point"
        assert {"id", "status", "identity", "sidc", "updated_at"} <= set(feature["properties"])

        hostile = (await client.get("/api/v1/tracks?identity=hostile")).json()
        assert [f["properties"]["identity"] for f in hostile["features"]] == ["hostile"]
        assert hostile["features"][0]["properties"]["report_count"] == 2
        boxed = (await client.get("/api/v1/tracks?bbox=17.5,53.0,18.5,53.2")).json()
        assert boxed["count"] == 1
        confirmed = (await client.get("/api/v1/tracks?status=confirmed")).json()
        assert {f["id"] for f in confirmed["features"]} == {
            "sub-bn-1",
            hostile["features"][0]["id"],
        }
        for query, parameter in [
            ("bbox=1,2,3", "bbox"),
            ("bbox=a,b,c,d", "bbox"),
            ("identity=enemy", "identity"),
            ("status=alive", "status"),
        ]:
            response = await client.get(f"/api/v1/tracks?{query}")
            assert response.status_code == 400
            assert response.json()["parameter"] == parameter

    run_live(tmp_path, scenario)


def test_track_with_lineage_and_report_reads(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        now = datetime.now(UTC)
        docs = [
            report_doc(report_id="a", observed_at=now - timedelta(seconds=20), grading="B2"),
            report_doc(report_id="b", observed_at=now - timedelta(seconds=10), grading="C3"),
        ]
        assert (await client.post("/api/v1/reports", json=docs)).status_code == 202
        await fused(live)
        track = (await client.get(f"/api/v1/tracks/{track_of(live, 'a')}")).json()
        lineage = track["lineage"]
        assert lineage["count"] == 2
        assert [r["id"] for r in lineage["reports"]] == [stored_id(live, "b"), stored_id(live, "a")]
        assert lineage["reports"][0]["grading"] == "C3"
        assert lineage["reports"][0]["source"] == {"id": "uav-1", "kind": "uav"}
        # By the id readers see (not the one its sender gave, which is the sender's own).
        report = (await client.get(f"/api/v1/reports/{stored_id(live, 'a')}")).json()
        assert report["received_at"] is not None
        assert (await client.get("/api/v1/reports/a")).status_code == 404
        missing = await client.get("/api/v1/tracks/nope")
        assert missing.status_code == 404
        assert (await client.get("/api/v1/reports/nope")).status_code == 404
        assert (await client.get("/api/v1/tracks?picture=NOPE")).status_code == 404

    run_live(tmp_path, scenario)


def test_every_read_goes_through_a_picture(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        secret = {"classification": "SECRET", "releasable_to": ["NATO"]}
        shared = {"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
        docs = [
            report_doc(report_id="s", lat=53.0, label=secret),
            report_doc(report_id="u", lat=54.0, label=shared),
        ]
        assert (await client.post("/api/v1/reports", json=docs)).status_code == 202
        await fused(live)
        cop = (await client.get("/api/v1/tracks?picture=COP")).json()
        assert {f["id"] for f in cop["features"]} == {track_of(live, "s"), track_of(live, "u")}
        partner = (await client.get("/api/v1/tracks?picture=REL-UKR")).json()
        assert {f["id"] for f in partner["features"]} == {track_of(live, "u")}
        hidden = track_of(live, "s")
        assert (await client.get(f"/api/v1/tracks/{hidden}?picture=REL-UKR")).status_code == 404
        for sent, status in (("s", 404), ("u", 200)):
            path = f"/api/v1/reports/{stored_id(live, sent)}?picture=REL-UKR"
            assert (await client.get(path)).status_code == status
        pictures = (await client.get("/api/v1/pictures")).json()["pictures"]
        assert [p["name"] for p in pictures] == ["COP", "REL-UKR"]

    run_live(tmp_path, scenario, pictures=[_picture_dict(p) for p in PICTURES])


def _picture_dict(picture: Picture) -> dict[str, Any]:
    return {
        "name": picture.name,
        "readers": ["*"],
        "rule": {
            "max_classification": picture.rule.max_classification,
            "releasable_to": picture.rule.releasable_to,
        },
    }


def test_health_openapi_docs_and_security_headers(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        health = await client.get("/api/v1/health")
        assert health.json()["status"] == "ok"
        assert health.headers["x-content-type-options"] == "nosniff"
        assert health.headers["x-frame-options"] == "DENY"
        document = (await client.get("/api/v1/openapi.json")).json()
        assert document["openapi"].startswith("3.")
        assert "Report" in document["components"]["schemas"]
        # The document describes every route the server has: a new route without
        # documentation fails here.
        documented = set(document["paths"])
        assert documented == {route.path for route in api_routes()}  # type: ignore[attr-defined]
        docs = await client.get("/api/v1/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()

    run_live(tmp_path, scenario)


def test_an_unconfirmed_write_answers_503_and_asks_for_the_same_request_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        async def unconfirmed(_items: Any) -> Any:
            raise JournalUnavailableError("no acknowledgement")

        monkeypatch.setattr(live.tessera.journal, "append", unconfirmed)
        overlay = {"name": "OP", "kind": "point", "coordinates": [[18.0, 53.0]]}
        for path, body in (("/api/v1/reports", [report_doc()]), ("/api/v1/overlays", overlay)):
            answer = await client.post(path, json=body)
            assert answer.status_code == 503, path
            assert answer.json()["retry"] is True

    run_live(tmp_path, scenario)

"""``GET /api/v1/passes``: the passes of the satellites a picture's readers may know of,
over a point, an area or a track; bad questions get a clear 400, others' pictures a 404."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tessera.app import utc_now
from tests.space.support import KYIV, PICTURES, T0, UKR, split_sources
from tests.support import clocked_server


def test_each_picture_sees_only_the_passes_of_satellites_it_admits(tmp_path: Path) -> None:
    async def scenario() -> None:
        sources = split_sources(tmp_path)
        async with clocked_server(
            tmp_path / "data", lambda: T0, satellites=sources, pictures=PICTURES
        ) as live:
            query = {"lat": KYIV[0], "lon": KYIV[1], "hours": 24}
            async with live.client() as admin:
                nato = await admin.get("/api/v1/passes", params={**query, "picture": "NATO"})
                ukr_as_admin = await admin.get(
                    "/api/v1/passes", params={**query, "picture": "REL-UKR"}
                )
            assert nato.status_code == 200, nato.text
            body = nato.json()
            assert body["place"] == {"kind": "point", "lat": KYIV[0], "lon": KYIV[1]}
            identities = {p["identity"] for p in body["passes"]}
            assert identities == {"hostile", "neutral"}
            first = body["passes"][0]
            assert first["rise"] < first["culmination"] < first["set"]
            assert body["start"].startswith("2025-06-28T00:00:00")
            hostile = [p for p in body["passes"] if p["identity"] == "hostile"]
            assert all(p["imaging"] and p["label"]["classification"] == "SECRET" for p in hostile)
            assert any(p["in_field"] for p in hostile) and not all(p["in_field"] for p in hostile)
            only_open = ukr_as_admin.json()["passes"]
            assert only_open and {p["identity"] for p in only_open} == {"neutral"}
            token = await live.grant(UKR)
            async with live.client(token) as ukr:
                mine = await ukr.get("/api/v1/passes", params={**query, "picture": "REL-UKR"})
                theirs = await ukr.get("/api/v1/passes", params={**query, "picture": "NATO"})
                filtered = await ukr.get(
                    "/api/v1/passes",
                    params={**query, "picture": "REL-UKR", "identity": "hostile"},
                )
            assert mine.json()["passes"] == only_open
            assert theirs.status_code == 404
            assert filtered.json()["passes"] == []

    asyncio.run(scenario())


def test_bad_questions_are_refused_by_name(tmp_path: Path) -> None:
    async def scenario() -> None:
        sources = split_sources(tmp_path)
        async with (
            clocked_server(tmp_path / "data", utc_now, satellites=sources) as live,
            live.client() as client,
        ):
            cases: dict[str, dict[str, str | float]] = {
                "lat": {"lat": "north", "lon": 1},
                "lon": {"lat": 1},
                "hours": {"lat": 1, "lon": 1, "hours": 1000},
                "mask": {"lat": 1, "lon": 1, "mask": -5},
                "identity": {"lat": 1, "lon": 1, "identity": "enemy"},
            }
            for name, params in cases.items():
                answer = await client.get("/api/v1/passes", params=params)
                assert answer.status_code == 400, (name, answer.text)
                assert answer.json()["parameter"] == name
            missing = await client.get("/api/v1/passes", params={"area": "no-such"})
            assert missing.status_code == 404
            spec = (await client.get("/api/v1/openapi.json")).json()
            assert "/api/v1/passes" in spec["paths"]

    asyncio.run(scenario())


def test_the_map_gets_the_satellites_the_picture_admits(tmp_path: Path) -> None:
    async def scenario() -> None:
        sources = split_sources(tmp_path)
        async with (
            clocked_server(
                tmp_path / "data", lambda: T0, satellites=sources, pictures=PICTURES
            ) as live,
            live.client() as admin,
        ):
            nato = (await admin.get("/api/v1/satellites", params={"picture": "NATO"})).json()
            ukr = (await admin.get("/api/v1/satellites", params={"picture": "REL-UKR"})).json()
        parts = [f["properties"]["part"] for f in nato["features"]]
        assert parts.count("satellite") == 20 and parts.count("footprint") == 20
        assert parts.count("ground_track") == 40
        hostile = next(
            f
            for f in nato["features"]
            if f["properties"]["part"] == "satellite" and f["properties"]["identity"] == "hostile"
        )
        assert hostile["properties"]["sidc"] == "10060500001107000000"
        assert 300 < hostile["properties"]["altitude_km"] < 1500
        assert hostile["properties"]["footprint_km"] > 100
        shown = {f["properties"]["identity"] for f in ukr["features"]}
        assert shown == {"neutral"}

    asyncio.run(scenario())

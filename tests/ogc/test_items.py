"""Items of a collection, live: pages and their links, bbox, datetime, limit, one feature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tessera.store.base import TrackQuery
from tests.ogc.helpers import PICTURES, SHARED, area, post_reports, put_overlays, walk
from tests.ogc.helpers import run_live as run
from tests.support import Live, iso, named, report_doc

ITEMS = "/ogc/collections/UKR-tracks/items"
OVERLAY_ITEMS = "/ogc/collections/UKR-overlays/items"
ANALYST_PROPERTIES = {
    "identity",
    "status",
    "sidc",
    "grading",
    "reliability",
    "credibility",
    "updated_at",
    "lineage_size",
    "classification",
    "releasable_to",
}


def spread(count: int, *, lon: float = 18.0) -> list[dict[str, Any]]:
    """Reports far enough apart (about 5 km) to be one track each."""
    return [
        report_doc(report_id=f"r{index:02d}", lat=50.0 + index * 0.05, lon=lon, label=SHARED)
        for index in range(count)
    ]


def ids(features: list[dict[str, Any]]) -> list[str]:
    return [feature["id"] for feature in features]


def stored_ids(live: Live, picture: str = "UKR") -> list[str]:
    return sorted(track.id for track in live.tessera.store.tracks(picture, TrackQuery())[1])


def test_next_links_walk_every_feature_once_in_id_order(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await post_reports(live, spread(23))
        expected = stored_ids(live)
        assert len(expected) == 23
        async with live.client() as client:
            bbox = "17,49,19,52"
            pages, features = await walk(client, ITEMS, limit=5, bbox=bbox)
        assert ids(features) == expected
        assert [page["numberReturned"] for page in pages] == [5, 5, 5, 5, 3]
        assert {page["numberMatched"] for page in pages} == {23}
        for number, page in enumerate(pages):
            assert page["type"] == "FeatureCollection"
            assert datetime.fromisoformat(page["timeStamp"]).tzinfo is not None
            links = {link["rel"]: link["href"] for link in page["links"]}
            assert links["collection"] == f"{live.base_url}/ogc/collections/UKR-tracks"
            assert links["self"].startswith(f"{live.base_url}{ITEMS}?")
            assert ("next" in links) == (number < 4)
            assert ("prev" in links) == (number > 0)
            for rel in ("next", "prev"):
                if rel in links:
                    # The other parameters ride along, so the walk keeps its selection.
                    assert "bbox=17%2C49%2C19%2C52" in links[rel] and "limit=5" in links[rel]
            if number > 0:
                assert f"offset={(number - 1) * 5}" in links["prev"]

    run(tmp_path, scenario, pictures=PICTURES)


def test_limit_defaults_and_is_capped(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await post_reports(live, spread(3))
        async with live.client() as client:
            everything = (await client.get(ITEMS)).json()
            assert everything["numberReturned"] == everything["numberMatched"] == 3
            assert "next" not in {link["rel"] for link in everything["links"]}
            capped = (await client.get(ITEMS, params={"limit": 50_000, "offset": 1})).json()
            assert capped["numberReturned"] == 2
            prev = next(link["href"] for link in capped["links"] if link["rel"] == "prev")
            assert "limit=10000" in prev and "offset=0" in prev
            beyond = (await client.get(ITEMS, params={"offset": 10})).json()
            assert (beyond["numberMatched"], beyond["numberReturned"]) == (3, 0)
            for params in ({"limit": 0}, {"limit": "x"}, {"offset": -1}):
                refused = await client.get(ITEMS, params=params)
                assert refused.status_code == 400
                assert refused.json()["parameter"] == next(iter(params))

    run(tmp_path, scenario, pictures=PICTURES)


def test_bbox_with_and_without_heights_and_across_the_antimeridian(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        low = report_doc(report_id="low", lat=53.0, lon=18.0, label=SHARED)
        low["position"]["alt"] = 100.0
        high = report_doc(report_id="high", lat=53.2, lon=18.2, label=SHARED)
        high["position"]["alt"] = 5000.0
        flat = report_doc(report_id="flat", lat=53.4, lon=18.4, label=SHARED)
        east = report_doc(report_id="east", lat=0.5, lon=179.9, label=SHARED)
        west = report_doc(report_id="west", lat=0.5, lon=-179.9, label=SHARED)
        await post_reports(live, [low, high, flat, east, west])
        async with live.client() as client:

            async def within(bbox: str) -> list[str]:
                answer = await client.get(ITEMS, params={"bbox": bbox})
                assert answer.status_code == 200, answer.text
                found = ids(answer.json()["features"])
                assert found == sorted(found)
                return named(live, found, "low", "high", "flat", "east", "west")

            assert await within("17.9,52.9,18.3,53.3") == ["trk-high", "trk-low"]
            # Heights filter what has one; a track without a height stays in.
            assert await within("17.9,52.9,0,18.5,53.5,1000") == ["trk-flat", "trk-low"]
            assert await within("179,0,-179,1") == ["trk-east", "trk-west"]
            assert await within("-10,-10,10,10") == []
            refused = await client.get(ITEMS, params={"bbox": "1,2,3"})
            assert refused.status_code == 400
            assert refused.json()["parameter"] == "bbox"

    run(tmp_path, scenario, pictures=PICTURES)


def test_datetime_against_updated_time_and_validity(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        # Reports only a little late (much older ones would start no track).
        now = datetime.now(UTC).replace(microsecond=0)
        await post_reports(
            live,
            [
                report_doc(
                    report_id="old", lat=53.0, label=SHARED, observed_at=now - timedelta(seconds=40)
                ),
                report_doc(
                    report_id="new", lat=54.0, label=SHARED, observed_at=now - timedelta(seconds=10)
                ),
            ],
        )
        at = {
            named(live, [t.id], "old", "new")[0]: t.updated_at
            for t in live.tessera.store.tracks("UKR", TrackQuery())[1]
        }
        assert at["trk-old"] < at["trk-new"]
        base = now - timedelta(hours=1)
        put_overlays(
            live,
            [
                area("past", SHARED, valid_from=base, valid_to=base + timedelta(minutes=10)),
                area("open", SHARED, valid_from=base + timedelta(minutes=20)),
                area("edited", SHARED, updated_at=base + timedelta(minutes=40)),
                area("timeless", SHARED),
            ],
        )
        async with live.client() as client:

            async def during(url: str, value: str) -> list[str]:
                answer = await client.get(url, params={"datetime": value})
                assert answer.status_code == 200, answer.text
                return named(live, ids(answer.json()["features"]), "old", "new")

            assert await during(ITEMS, iso(at["trk-old"])) == ["trk-old"]
            assert await during(ITEMS, f"{iso(at['trk-old'])}/..") == ["trk-new", "trk-old"]
            assert await during(ITEMS, f"../{iso(at['trk-new'] - timedelta(seconds=1))}") == [
                "trk-old"
            ]
            minutes = {m: iso(base + timedelta(minutes=m)) for m in (5, 15, 25, 45)}
            assert await during(OVERLAY_ITEMS, minutes[5]) == ["past", "timeless"]
            assert await during(OVERLAY_ITEMS, minutes[15]) == ["timeless"]
            assert await during(OVERLAY_ITEMS, f"{minutes[15]}/{minutes[45]}") == [
                "edited",
                "open",
                "timeless",
            ]
            assert await during(OVERLAY_ITEMS, f"../{minutes[5]}") == ["past", "timeless"]
            refused = await client.get(ITEMS, params={"datetime": "2026-05-04"})
            assert refused.status_code == 400
            assert refused.json()["parameter"] == "datetime"

    run(tmp_path, scenario, pictures=PICTURES)


def test_one_feature_with_the_analysts_properties(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await post_reports(
            live,
            [
                report_doc(report_id="a1", lat=53.0, label=SHARED, grading="C3"),
                report_doc(report_id="a2", lat=53.0001, label=SHARED, grading="C3"),
            ],
        )
        put_overlays(live, [area("zone-1", SHARED)])
        (track,) = live.tessera.store.tracks("UKR", TrackQuery())[1]
        async with live.client() as client:
            answer = await client.get(f"{ITEMS}/{track.id}")
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/geo+json"
            feature = answer.json()
            assert feature["id"] == track.id
            assert feature["geometry"]["type"] == "Point"
            properties = feature["properties"]
            assert set(properties) >= ANALYST_PROPERTIES
            assert (properties["grading"], properties["reliability"]) == ("C3", "C")
            assert properties["credibility"] == 3
            assert properties["lineage_size"] == track.report_count == 2
            assert properties["sidc"] == track.sidc
            links = {link["rel"]: link["href"] for link in feature["links"]}
            assert links["self"] == f"{live.base_url}{ITEMS}/{track.id}"
            # The same Feature as in the collection's items.
            listed = (await client.get(ITEMS)).json()["features"]
            assert listed == [{k: v for k, v in feature.items() if k != "links"}]
            overlay = (await client.get(f"{OVERLAY_ITEMS}/zone-1")).json()
            assert overlay["geometry"]["type"] == "Polygon"
            assert overlay["properties"]["name"] == "area zone-1"

    run(tmp_path, scenario, pictures=PICTURES)


def test_missing_collection_and_feature_answer_404(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            for path, message in (
                ("/ogc/collections/NOPE-tracks", "no collection 'NOPE-tracks'"),
                ("/ogc/collections/UKR", "no collection 'UKR'"),
                ("/ogc/collections/NOPE-tracks/items", "no collection 'NOPE-tracks'"),
                (f"{ITEMS}/trk-none", "no feature 'trk-none' in collection 'UKR-tracks'"),
                (f"{OVERLAY_ITEMS}/none", "no feature 'none' in collection 'UKR-overlays'"),
            ):
                answer = await client.get(path)
                assert answer.status_code == 404, path
                assert answer.json() == {"error": message}

    run(tmp_path, scenario, pictures=PICTURES)

"""The landing page, conformance, API definition and collections of /ogc, live."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tessera.core.model import Principal
from tessera.transports.web.ogc.routes import OGC_POLICIES, ogc_routes
from tests.ogc.helpers import PICTURES, SHARED, UKR_ANALYST, area, post_reports, put_overlays
from tests.ogc.helpers import run_live as run
from tests.support import Live, report_doc

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
PATHS = (
    "/ogc",
    "/ogc/conformance",
    "/ogc/api",
    "/ogc/collections",
    "/ogc/collections/UKR-tracks",
    "/ogc/collections/UKR-tracks/items",
    "/ogc/collections/UKR-tracks/items/none",
)


def test_every_route_has_a_policy_and_a_unique_name() -> None:
    names = [route.name for route in ogc_routes()]  # type: ignore[attr-defined]
    assert len(set(names)) == len(names) == len(OGC_POLICIES)
    assert set(names) == set(OGC_POLICIES)


def test_the_readme_lists_every_route() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## OGC API - Features", 1)[1].split("\n\n", 3)[2]

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")

    documented = {shape(f"/ogc{path}") for path in re.findall(r"^\| `(/[^`]*)`", table, re.M)}
    served = {shape(route.path) for route in ogc_routes()}  # type: ignore[attr-defined]
    assert documented == served


def test_nothing_answers_without_a_token_or_the_viewer_role(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        writer = await live.grant(Principal(name="writer", communities=("UKR",), roles=()))
        async with httpx.AsyncClient(base_url=live.base_url) as anonymous:
            for path in PATHS:
                bare = await anonymous.get(path)
                assert bare.status_code == 401, path
                assert set(bare.json()) == {"error"}
                assert bare.headers["www-authenticate"].startswith("Bearer")
                wrong = await anonymous.get(path, headers={"authorization": f"Bearer {writer}"})
                assert wrong.status_code == 403, path

    run(tmp_path, scenario, pictures=PICTURES)


def test_landing_page_links_absolute_from_the_host_asked(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            landing = await client.get("/ogc", headers={"host": "cop.example:8443"})
            assert landing.status_code == 200
            assert landing.headers["content-type"] == "application/json"
            assert landing.headers["cache-control"] == "no-store"
            links = {link["rel"]: link for link in landing.json()["links"]}
            root = "http://cop.example:8443/ogc"
            assert links["self"]["href"] == root
            assert links["service-desc"] == {
                "href": f"{root}/api",
                "rel": "service-desc",
                "type": OPENAPI,
                "title": "The API definition",
            }
            assert links["conformance"]["href"] == f"{root}/conformance"
            assert links["data"]["href"] == f"{root}/collections"
            assert (await client.get("/ogc", params={"f": "json"})).status_code == 200

    run(tmp_path, scenario, pictures=PICTURES)


def test_conformance_and_api_definition(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            conformance = (await client.get("/ogc/conformance")).json()["conformsTo"]
            base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
            assert {f"{base}{name}" for name in ("core", "geojson", "oas30")} <= set(conformance)
            api = await client.get("/ogc/api")
            assert api.status_code == 200
            assert api.headers["content-type"] == OPENAPI
            document = api.json()
            assert document["openapi"].startswith("3.0")
            assert document["servers"] == [{"url": f"{live.base_url}/ogc"}]
            # Every route is described, with the items' parameters.
            described = {f"/ogc{path}".rstrip("/") for path in document["paths"]}
            served = {
                route.path.replace("{collection_id}", "{collectionId}").replace(  # type: ignore[attr-defined]
                    "{feature_id}", "{featureId}"
                )
                for route in ogc_routes()
            }
            assert described == served
            items = document["paths"]["/collections/{collectionId}/items"]["get"]
            parameters = {p["name"]: p for p in items["parameters"]}
            assert set(parameters) == {
                "collectionId", "bbox", "datetime", "status", "limit", "offset", "f",
            }  # fmt: skip
            assert parameters["limit"]["schema"]["maximum"] == 10_000

    run(tmp_path, scenario, pictures=PICTURES)


def test_collections_are_the_callers_pictures_with_their_extent(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await post_reports(
            live,
            [
                report_doc(report_id="a", lat=53.0, lon=18.0, label=SHARED),
                report_doc(report_id="b", lat=54.0, lon=19.5, label=SHARED),
            ],
        )
        put_overlays(live, [area("o1", SHARED, west=17.0, south=52.0, size=0.5)])
        token = await live.grant(UKR_ANALYST)
        async with live.client(token) as client:
            listed = await client.get("/ogc/collections")
            assert listed.status_code == 200
            body = listed.json()
            ids = [c["id"] for c in body["collections"]]
            assert ids == ["UKR-tracks", "UKR-overlays", "UKR-imagery"]
            tracks, overlays, imagery = body["collections"]
            # No imagery yet: a collection with nothing in it has no extent.
            assert "extent" not in imagery
            assert tracks["itemType"] == overlays["itemType"] == "feature"
            assert tracks["crs"] == [CRS84]
            assert tracks["extent"]["spatial"] == {"bbox": [[18.0, 53.0, 19.5, 54.0]], "crs": CRS84}
            assert overlays["extent"]["spatial"]["bbox"] == [[17.0, 52.0, 17.5, 52.5]]
            start, end = tracks["extent"]["temporal"]["interval"][0]
            assert start is not None and end is not None and start <= end
            # An overlay without any time leaves the interval open.
            assert overlays["extent"]["temporal"]["interval"] == [[None, None]]
            links = {link["rel"]: link["href"] for link in tracks["links"]}
            assert links["items"] == f"{live.base_url}/ogc/collections/UKR-tracks/items"
            one = await client.get("/ogc/collections/UKR-tracks")
            assert one.status_code == 200
            assert one.json() == tracks

    run(tmp_path, scenario, pictures=PICTURES)


def test_an_empty_collection_has_no_extent(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            collection = (await client.get("/ogc/collections/UKR-overlays")).json()
        # Optional in the standard; no box would be true of nothing (tests/ogc/test_extents).
        assert "extent" not in collection and collection["id"] == "UKR-overlays"

    run(tmp_path, scenario, pictures=PICTURES)


def test_unknown_parameters_and_formats_are_refused_with_their_name(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as client:
            for path in PATHS:
                for params, name in (({"f": "html"}, "f"), ({"picture": "UKR"}, "picture")):
                    answer = await client.get(path, params=params)
                    assert answer.status_code == 400, (path, params)
                    assert answer.json()["parameter"] == name
                    assert answer.json()["error"].startswith(f"{name}: ")

    run(tmp_path, scenario, pictures=PICTURES)

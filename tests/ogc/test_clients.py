"""Third-party clients read /ogc: GDAL's OAPIF driver (ogrinfo) and OWSLib's OGC API -
Features client see the same collections, counts and features as the store holds."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from requests import PreparedRequest
from requests.auth import AuthBase

from tessera.store.base import TrackQuery
from tests.ogc.helpers import (
    NATO_ONLY,
    PICTURES,
    SHARED,
    UKR_ANALYST,
    UKR_ONLY,
    area,
    post_reports,
    put_overlays,
)
from tests.ogc.helpers import run_live as run
from tests.support import Live, report_doc, require_service_or_skip

pytestmark = pytest.mark.slow


async def seed(live: Live) -> None:
    """27 tracks for the partner (more than a page of GDAL's or of the test's), some the
    partner may not see, and overlays of both kinds."""
    docs = [
        report_doc(
            report_id=f"r{index:02d}",
            lat=50.0 + index * 0.05,
            label=UKR_ONLY if index % 3 == 0 else SHARED,
        )
        for index in range(27)
    ]
    docs += [
        report_doc(report_id=f"n{index}", lat=60.0 + index * 0.05, label=NATO_ONLY)
        for index in range(4)
    ]
    await post_reports(live, docs)
    put_overlays(
        live,
        [
            area("zone-a", SHARED),
            area("zone-b", UKR_ONLY, west=19.0),
            area("zone-c", SHARED, west=20.0),
            area("nato-zone", NATO_ONLY),
        ],
    )


def held(live: Live, picture: str) -> tuple[list[str], list[str]]:
    store = live.tessera.store
    tracks = sorted(t.id for t in store.tracks(picture, TrackQuery())[1])
    overlays = sorted(o.id for o in store.overlays(picture, TrackQuery())[1])
    return tracks, overlays


async def ogrinfo(live: Live, token: str, *options: str, layer: str | None = None) -> str:
    """ogrinfo as a child process, so the server's event loop goes on serving it."""
    process = await asyncio.create_subprocess_exec(
        "ogrinfo",
        "-ro",
        *options,
        f"OAPIF:{live.base_url}/ogc",
        *([] if layer is None else [layer]),
        env={**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


def test_ogrinfo_lists_the_partners_layers_counts_and_features(tmp_path: Path) -> None:
    if shutil.which("ogrinfo") is None:
        require_service_or_skip("ogrinfo (GDAL)")

    async def scenario(live: Live) -> None:
        await seed(live)
        tracks, overlays = held(live, "UKR")
        assert len(tracks) == 27 and overlays == ["zone-a", "zone-b", "zone-c"]
        token = await live.grant(UKR_ANALYST)
        summary = await ogrinfo(live, token, "-so")
        layers = re.findall(r"^\d+: (\S+)", summary, re.MULTILINE)
        assert layers == ["UKR-tracks", "UKR-overlays", "UKR-imagery"]
        for layer, expected in (("UKR-tracks", tracks), ("UKR-overlays", overlays)):
            counted = await ogrinfo(live, token, "-al", "-so", layer=layer)
            assert f"Feature Count: {len(expected)}\n" in counted
            # Every feature, through GDAL's own paging (ten a page): each once.
            dump = await ogrinfo(live, token, "-al", "-q", layer=layer)
            seen = re.findall(r"^  id \(String\) = (\S+)$", dump, re.MULTILINE)
            assert sorted(seen) == expected
        tracks_dump = await ogrinfo(live, token, "-al", "-q", layer="UKR-tracks")
        for field in ("identity", "status", "sidc", "grading", "updated_at", "lineage_size"):
            assert f"  {field} (" in tracks_dump
        # The admin reads both pictures; the partner's token never showed the other.
        everything = await ogrinfo(live, live.token, "-so")
        assert re.findall(r"^\d+: (\S+)", everything, re.MULTILINE) == [
            "NATO-tracks",
            "NATO-overlays",
            "NATO-imagery",
            "UKR-tracks",
            "UKR-overlays",
            "UKR-imagery",
        ]

    run(tmp_path, scenario, pictures=PICTURES)


class Bearer(AuthBase):
    """The token on each request. (OWSLib's ``headers=`` updates a dictionary shared by
    every client in the process, so one principal's token would leak into the next.)"""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def owslib_read(url: str, token: str, page: int) -> dict[str, Any]:
    """What OWSLib sees: collections, then every collection paged ``page`` at a time.
    (Blocking: run in a thread, so the server's event loop goes on serving.)"""
    # OWSLib ships no type information; imported by name, it is simply Any.
    features_module = importlib.import_module("owslib.ogcapi.features")
    util = importlib.import_module("owslib.util")
    client = features_module.Features(url, auth=util.Authentication(auth_delegate=Bearer(token)))
    seen: dict[str, Any] = {
        "conformance": client.conformance()["conformsTo"],
        "api": client.api()["openapi"],
        "collections": client.feature_collections(),
        "pages": {},
        "ids": {},
    }
    for collection in seen["collections"]:
        ids: list[str] = []
        sizes: list[int] = []
        while True:
            answer = client.collection_items(collection, limit=page, offset=len(ids))
            sizes.append(answer["numberReturned"])
            ids += [feature["id"] for feature in answer["features"]]
            if not any(link["rel"] == "next" for link in answer["links"]):
                break
        seen["pages"][collection] = sizes
        seen["ids"][collection] = ids
    first = seen["ids"]["UKR-tracks"][0]
    seen["one"] = client.collection_item("UKR-tracks", first)
    return seen


def test_owslib_lists_collections_and_pages_through_every_item_once(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await seed(live)
        tracks, overlays = held(live, "UKR")
        token = await live.grant(UKR_ANALYST)
        seen = await asyncio.to_thread(owslib_read, f"{live.base_url}/ogc", token, 4)
        assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in seen["conformance"]
        assert seen["api"].startswith("3.0")
        assert seen["collections"] == ["UKR-tracks", "UKR-overlays", "UKR-imagery"]
        assert seen["ids"] == {"UKR-tracks": tracks, "UKR-overlays": overlays, "UKR-imagery": []}
        assert seen["pages"]["UKR-tracks"] == [4, 4, 4, 4, 4, 4, 3]
        assert seen["one"]["id"] == tracks[0]
        assert seen["one"]["properties"]["lineage_size"] == 1

    run(tmp_path, scenario, pictures=PICTURES)

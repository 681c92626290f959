"""CORS on /api/v1 and /ogc for the origins the settings allow: preflights answered
without a token, actual requests still needing theirs, nothing for other origins or
other paths, and nothing at all by default."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from tessera.settings import load_settings
from tests.support import Live, live_server

GIS: Final = "https://gis.example.org"
ELSEWHERE: Final = "https://evil.example.net"
ALLOW_ORIGIN: Final = "access-control-allow-origin"


def run_live(tmp_path: Path, scenario: Any, **overrides: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path, **overrides) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


def preflight_headers(
    origin: str, method: str = "GET", headers: str = "authorization"
) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": headers,
    }


def listed(answer: httpx.Response, header: str) -> set[str]:
    return {part.strip().lower() for part in answer.headers.get(header, "").split(",")}


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as anonymous:
            for path in ("/ogc", "/ogc/collections/COP-tracks/items", "/api/v1/tracks"):
                answer = await anonymous.options(path, headers=preflight_headers(GIS))
                assert answer.status_code == 200, (path, answer.text)
                assert answer.headers[ALLOW_ORIGIN] == GIS
                assert {"get", "head"} <= listed(answer, "access-control-allow-methods")
                assert "authorization" in listed(answer, "access-control-allow-headers")
                assert "origin" in listed(answer, "vary")
                assert "access-control-allow-credentials" not in answer.headers
                assert "www-authenticate" not in answer.headers
            # Writing an overlay from a page: its body and its idempotency key.
            wanted = "authorization, content-type, idempotency-key"
            answer = await anonymous.options(
                "/api/v1/overlays", headers=preflight_headers(GIS, "POST", wanted)
            )
            assert answer.status_code == 200, answer.text
            assert answer.headers[ALLOW_ORIGIN] == GIS

    run_live(tmp_path, scenario, cors_origins=[GIS, "http://127.0.0.1:5173"])


def test_a_preflight_from_another_origin_is_allowed_nothing(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as anonymous:
            for origin in (ELSEWHERE, GIS + ":8443", "http://gis.example.org", "null"):
                answer = await anonymous.options("/ogc", headers=preflight_headers(origin))
                assert answer.status_code == 400, (origin, answer.text)
                assert ALLOW_ORIGIN not in answer.headers, origin

    run_live(tmp_path, scenario, cors_origins=[GIS])


def test_a_request_from_an_allowed_origin_still_needs_its_token(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as viewer, httpx.AsyncClient(base_url=live.base_url) as anonymous:
            for path in ("/ogc/collections", "/api/v1/tracks"):
                answer = await viewer.get(path, headers={"origin": GIS})
                assert answer.status_code == 200, answer.text
                assert answer.headers[ALLOW_ORIGIN] == GIS
                exposed = listed(answer, "access-control-expose-headers")
                assert {"location", "retry-after", "content-disposition"} <= exposed
                # The server still answers another origin's request (a browser then keeps
                # it from the page): without the header.
                other = await viewer.get(path, headers={"origin": ELSEWHERE})
                assert other.status_code == 200
                assert ALLOW_ORIGIN not in other.headers
                # Without a token: refused as ever, and the page may read that it was.
                refused = await anonymous.get(path, headers={"origin": GIS})
                assert refused.status_code == 401
                assert refused.headers[ALLOW_ORIGIN] == GIS
                assert "www-authenticate" in listed(refused, "access-control-expose-headers")
            # An OPTIONS request that is no preflight goes through authentication.
            bare = await anonymous.options("/ogc", headers={"origin": GIS})
            assert bare.status_code == 401

    run_live(tmp_path, scenario, cors_origins=[GIS])


def test_the_map_and_its_files_stay_same_origin(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as anonymous:
            for path in ("/", "/static/docs.html", "/ogcx", "/api/v10/tracks"):
                answer = await anonymous.get(path, headers={"origin": GIS})
                assert ALLOW_ORIGIN not in answer.headers, path
                preflight = await anonymous.options(path, headers=preflight_headers(GIS))
                assert ALLOW_ORIGIN not in preflight.headers, path
                assert preflight.status_code != 200, path

    run_live(tmp_path, scenario, cors_origins=[GIS])


def test_without_allowed_origins_there_is_no_cors(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as viewer, httpx.AsyncClient(base_url=live.base_url) as anonymous:
            preflight = await anonymous.options("/ogc", headers=preflight_headers(GIS))
            assert preflight.status_code == 400
            answer = await viewer.get("/ogc/collections", headers={"origin": GIS})
            assert answer.status_code == 200
            refused = await anonymous.get("/api/v1/tracks", headers={"origin": GIS})
            assert refused.status_code == 401
            for response in (preflight, answer, refused):
                assert not [name for name in response.headers if name.startswith("access-")]

    run_live(tmp_path, scenario)


def test_any_origin_without_credentials(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with live.client() as viewer, httpx.AsyncClient(base_url=live.base_url) as anonymous:
            preflight = await anonymous.options("/ogc/conformance", headers=preflight_headers(GIS))
            assert preflight.status_code == 200
            assert preflight.headers[ALLOW_ORIGIN] == "*"
            assert "authorization" in listed(preflight, "access-control-allow-headers")
            answer = await viewer.get("/ogc/conformance", headers={"origin": ELSEWHERE})
            assert answer.status_code == 200
            assert answer.headers[ALLOW_ORIGIN] == "*"
            for response in (preflight, answer):
                assert "access-control-allow-credentials" not in response.headers
            refused = await anonymous.get("/ogc/conformance", headers={"origin": ELSEWHERE})
            assert refused.status_code == 401

    run_live(tmp_path, scenario, cors_origins=["*"])


@pytest.mark.parametrize(
    ("origins", "reason"),
    [
        (["*", GIS], "stands alone"),
        ([GIS + "/"], "is not an origin"),
        (["gis.example.org"], "is not an origin"),
        (["https://GIS.example.org"], "lowercase"),
        ([GIS + ":443"], "default port 443"),
        (["http://gis.example.org:80"], "default port 80"),
        (["ftp://gis.example.org"], "is not an origin"),
        ([GIS + ":99999"], "is not an origin"),
        (["null"], "is not an origin"),
    ],
)
def test_origins_are_written_as_browsers_send_them(
    tmp_path: Path, origins: list[str], reason: str
) -> None:
    with pytest.raises(ValueError, match="cors_origins") as refused:
        load_settings(data_dir=tmp_path, cors_origins=origins)
    assert reason in str(refused.value)


def test_good_origins_load(tmp_path: Path) -> None:
    given = [GIS, "http://127.0.0.1:5173", "https://[::1]:8443"]
    assert load_settings(data_dir=tmp_path, cors_origins=given).cors_origins == tuple(given)
    assert load_settings(data_dir=tmp_path).cors_origins == ()

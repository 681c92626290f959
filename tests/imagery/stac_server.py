"""A real STAC API for the imagery tests: stac-fastapi on pgstac, on a scratch database
of the machine's PostgreSQL (``pypgstac migrate``), served by uvicorn on a loopback
socket the test binds; the tests load the collections and items they search.

Without PostgreSQL, PostGIS or the server's packages (the ``stac-server`` extra, which
``make deps`` installs) the tests skip; with CI=true they fail instead."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Final

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.postgis.databases import ADMIN_DSN, HOST, PORT, dsn_of, require_postgis
from tests.services import in_ci

STARTUP_TIMEOUT_S: Final = 60.0
PYPGSTAC: Final = Path(sys.executable).parent / "pypgstac"


def require_stac_server() -> None:
    """PostgreSQL with PostGIS, and stac-fastapi with pypgstac installed."""
    require_postgis()
    if find_spec("stac_fastapi.pgstac") is None or not PYPGSTAC.exists():
        reason = "stac-fastapi.pgstac and pypgstac are not installed (the stac-server extra)"
        if in_ci():
            pytest.fail(f"{reason}; CI must provide them")
        pytest.skip(reason)


@dataclass
class StacApi:
    """The running API: its URL, and loading what the tests search."""

    url: str
    dsn: str
    folder: Path

    def load(self, kind: str, documents: Sequence[Mapping[str, Any]]) -> None:
        """Load ``collections`` or ``items`` (upserted: a test may change one)."""
        path = self.folder / f"{kind}-{secrets.token_hex(4)}.ndjson"
        path.write_text("".join(json.dumps(doc) + "\n" for doc in documents))
        subprocess.run(
            [str(PYPGSTAC), "load", kind, str(path), "--dsn", self.dsn, "--method", "upsert"],
            check=True,
            capture_output=True,
            timeout=120,
        )


@contextlib.contextmanager
def stac_api(folder: Path) -> Iterator[StacApi]:
    require_stac_server()
    name = f"tessera_stac_{secrets.token_hex(8)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = dsn_of(name)
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [str(PYPGSTAC), "migrate", "--dsn", dsn], check=True, capture_output=True, timeout=300
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        env = {
            **os.environ,
            "PGUSER": "postgres",
            "PGPASSWORD": "unused",
            "PGHOST": HOST,
            "PGPORT": str(PORT),
            "PGDATABASE": name,
            "STAC_FASTAPI_TITLE": "Tessera test catalogue",
            "STAC_FASTAPI_DESCRIPTION": "Collections and items the imagery tests load",
            "STAC_FASTAPI_VERSION": "1",
            "STAC_FASTAPI_LANDING_ID": "tessera-test",
        }
        log = (folder / "stac-api.log").open("wb")
        with log, sock:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "stac_fastapi.pgstac.app:create_app",
                    "--factory",
                    "--fd",
                    str(sock.fileno()),
                    "--log-level",
                    "warning",
                ],
                env=env,
                pass_fds=(sock.fileno(),),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url, server, folder / "stac-api.log")
        yield StacApi(url=url, dsn=dsn, folder=folder)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=20)
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the STAC API stopped: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the STAC API did not answer within {STARTUP_TIMEOUT_S:g} s")


def collection(collection_id: str) -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": collection_id,
        "description": f"Test imagery {collection_id}",
        "license": "proprietary",
        "links": [],
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
    }


def item(
    item_id: str,
    collection_id: str,
    *,
    west: float,
    south: float,
    size: float = 0.2,
    at: str,
    platform: str = "sentinel-2a",
    cloud_cover: float | None = 12.5,
    gsd: float | None = 10.0,
) -> dict[str, Any]:
    """A STAC item: a square footprint ``size`` degrees wide from (west, south)."""
    east, north = west + size, south + size
    properties: dict[str, Any] = {"datetime": at, "platform": platform, "instruments": ["msi"]}
    if cloud_cover is not None:
        properties["eo:cloud_cover"] = cloud_cover
    if gsd is not None:
        properties["gsd"] = gsd
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": item_id,
        "collection": collection_id,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        },
        "bbox": [west, south, east, north],
        "properties": properties,
        "links": [],
        "assets": {
            "thumbnail": {
                "href": f"https://imagery.example.org/{item_id}/thumb.png",
                "type": "image/png",
                "roles": ["thumbnail"],
            },
            "visual": {
                "href": f"https://imagery.example.org/{item_id}/visual.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": "True colour",
                "roles": ["visual", "data"],
            },
        },
    }

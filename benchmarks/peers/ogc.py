"""OGC API - Features, Tessera's ``/ogc`` against pygeoapi serving the same 10,000 tracks.

Tessera (embedded, in its own process) is fed one self-report for each of ``tracks`` units;
once fused, its ``/ogc`` tracks collection is read whole, and the very same features (id,
properties, point) fill a PostGIS table (GiST index on the point) in a database of this
harness's own, which pygeoapi serves through its PostgreSQL provider. Both are then read
the same way: paging through everything with ``limit=1000`` (items/s), and the same
``bbox`` query again and again (p50, p99).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg

from benchmarks.common import server_process, unit_report
from benchmarks.ingest import fused_after
from benchmarks.peers.install import PYGEOAPI, install
from benchmarks.peers.procs import accepts, stop_tree
from benchmarks.peers.servers import PG_ADMIN, PeerError, free_port

DATABASE = "tessera_bench_ogc"
PAGE = 1000
# 10 columns by 50 rows of the units' grid: 500 tracks.
BBOX = "15.49,52.79,15.96,53.79"
BBOX_LIMIT = 1000
WORKERS = 2
PYGEOAPI_COMMAND = f"gunicorn --workers {WORKERS} pygeoapi.flask_app:APP"


def _timed_pages(client: httpx.Client, items: str, headers: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    count, offset = 0, 0
    while True:
        response = client.get(items, params={"limit": PAGE, "offset": offset}, headers=headers)
        response.raise_for_status()
        returned = len(response.json()["features"])
        count += returned
        offset += PAGE
        if returned < PAGE:
            return count, time.perf_counter() - started


def _read(base: str, items: str, headers: dict[str, str], queries: int) -> dict[str, float]:
    with httpx.Client(base_url=base, timeout=60) as client:
        runs = [_timed_pages(client, items, headers) for _ in range(3)]
        count = runs[0][0]
        paging = statistics.median(seconds for _, seconds in runs)
        latencies = []
        matched = 0
        for _ in range(queries):
            started = time.perf_counter()
            response = client.get(
                items, params={"bbox": BBOX, "limit": BBOX_LIMIT}, headers=headers
            )
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            matched = len(response.json()["features"])
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "items": count,
        "items_per_s": count / paging,
        "bbox_items": matched,
        "bbox_p50_ms": quantiles[49] * 1000,
        "bbox_p99_ms": quantiles[98] * 1000,
    }


async def _tessera_features(tracks: int, queries: int) -> tuple[list[Any], dict[str, float]]:
    now = datetime.now(UTC)
    reports = [unit_report(index, 0, prefix="ogc", when=now) for index in range(tracks)]
    async with server_process() as served:
        async with httpx.AsyncClient(
            base_url=served.url, timeout=60, headers=served.headers
        ) as client:
            for start in range(0, tracks, 500):
                body = msgspec.json.encode(reports[start : start + 500])
                response = await client.post(
                    "/api/v1/reports", content=body,
                    headers={"content-type": "application/json"},
                )  # fmt: skip
                response.raise_for_status()
            await fused_after(client, 120)
            collections = (await client.get("/ogc/collections")).json()["collections"]
            name = next(c["id"] for c in collections if c["id"].endswith("-tracks"))
            items = f"/ogc/collections/{name}/items"
            features = []
            offset = 0
            while True:
                page = await client.get(items, params={"limit": 10000, "offset": offset})
                batch = page.json()["features"]
                features.extend(batch)
                offset += len(batch)
                if not batch:
                    break
        figures = await asyncio.to_thread(_read, served.url, items, served.headers, queries)
    return features, figures


def _fill_table(features: list[Any]) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + DATABASE
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute(
            "CREATE TABLE tracks (id text PRIMARY KEY, identity text, sidc text, "
            "grading text, updated_at text, properties jsonb, geom geometry(Point, 4326))"
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO tracks VALUES (%s, %s, %s, %s, %s, %s, "
                "ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326))",
                [
                    (
                        f["id"],
                        f["properties"].get("identity"),
                        f["properties"].get("sidc"),
                        str(f["properties"].get("grading")),
                        f["properties"].get("updated_at"),
                        json.dumps(f["properties"]),
                        json.dumps(f["geometry"]),
                    )
                    for f in features
                ],
            )
        conn.execute("CREATE INDEX tracks_geom ON tracks USING GIST (geom)")
        conn.execute("ANALYZE tracks")
    return dsn


def _drop_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _config(port: int) -> str:
    return f"""
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench],
    keywords_type: theme, url: "http://x", terms_of_service: none}}
  license: {{name: none, url: "http://x"}}
  provider: {{name: bench, url: "http://x"}}
  contact: {{name: bench, position: x, address: x, city: x, stateorprovince: x,
    postalcode: x, country: x, phone: x, fax: x, email: x@x, url: "http://x", hours: x,
    instructions: x, role: pointOfContact}}
resources:
  tracks:
    type: collection
    title: tracks
    description: the tracks Tessera served
    keywords: [tracks]
    extents:
      spatial: {{bbox: [-180, -90, 180, 90],
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: 127.0.0.1, port: 5432, dbname: {DATABASE}, user: postgres,
          password: "", search_path: [public]}}
        id_field: id
        table: tracks
        geom_field: geom
"""


@contextlib.contextmanager
def _pygeoapi() -> Iterator[str]:
    folder = install(PYGEOAPI) / "bin"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tessera-bench-pygeoapi-") as scratch:
        root = Path(scratch)
        (root / "config.yml").write_text(_config(port))
        env = {
            "PYGEOAPI_CONFIG": str(root / "config.yml"),
            "PYGEOAPI_OPENAPI": str(root / "openapi.yml"),
            "PATH": str(folder),
        }
        generated = subprocess.run(
            [str(folder / "pygeoapi"), "openapi", "generate", str(root / "config.yml")],
            env=env, capture_output=True, timeout=120,
        )  # fmt: skip
        if generated.returncode != 0:
            raise PeerError(f"pygeoapi openapi generate: {generated.stderr.decode()[-1500:]}")
        (root / "openapi.yml").write_bytes(generated.stdout)
        log = root / "pygeoapi.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(folder / "gunicorn"), "--workers", str(WORKERS), "--bind",
                 f"127.0.0.1:{port}", "pygeoapi.flask_app:APP"],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not accepts("127.0.0.1", port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise PeerError(f"pygeoapi did not start: {log.read_text()[-1500:]}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_tree(process.pid)
            process.wait(timeout=30)


def measure(tracks: int = 10_000, queries: int = 200) -> dict[str, Any]:
    features, tessera = asyncio.run(_tessera_features(tracks, queries))
    if len(features) != tracks:
        raise RuntimeError(f"Tessera served {len(features)} tracks, not {tracks}")
    outcome: dict[str, Any] = {"tessera": tessera, "tracks": tracks}
    try:
        _fill_table(features)
        with _pygeoapi() as base:
            outcome["pygeoapi"] = _read(base, "/collections/tracks/items", {}, queries)
    except Exception as exc:  # a peer that fails is reported, not dropped
        outcome["pygeoapi_error"] = f"{type(exc).__name__}: {exc}"
    finally:
        _drop_database()
    return outcome

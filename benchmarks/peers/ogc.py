"""OGC API - Features, Tessera's ``/ogc`` against pygeoapi serving the same 10,000 tracks
from the same PostGIS table.

Tessera on PostGIS (a fusion worker and a gateway on a fresh database and NATS streams of
this harness's own, ``benchmarks.cluster``) is fed one self-report for each of ``tracks``
units; the worker writes the fused picture into its ``tracks`` table, and pygeoapi serves
that very table (through a view that gives it a single-picture id and a lon/lat geometry,
the expression Tessera's own GiST index covers) with its PostgreSQL provider. The gateway
answers ``/ogc`` from its replica of the same table. Both are read the same way: paging
through everything with ``limit=1000`` (items/s), and the same ``bbox`` query again and
again (p50, p99). Tessera's embedded default is measured too, on the same load.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from psycopg import sql

from benchmarks.cluster import scratch
from benchmarks.common import Served, server_process, unit_report
from benchmarks.peers.install import PYGEOAPI, install
from benchmarks.peers.procs import accepts, stop_tree
from benchmarks.peers.servers import PeerError, free_port

VIEW = "pygeoapi_tracks"
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


async def _feed(served: Served, tracks: int) -> str:
    """Post one self-report per unit; the tracks collection's items path."""
    now = datetime.now(UTC)
    reports = [unit_report(index, 0, prefix="ogc", when=now) for index in range(tracks)]
    async with httpx.AsyncClient(base_url=served.url, timeout=60, headers=served.headers) as client:
        for start in range(0, tracks, 500):
            body = msgspec.json.encode(reports[start : start + 500])
            response = await client.post(
                "/api/v1/reports", content=body, headers={"content-type": "application/json"}
            )
            response.raise_for_status()
        deadline = time.monotonic() + 120
        while True:
            collections = (await client.get("/ogc/collections")).json()["collections"]
            names = [c["id"] for c in collections if c["id"].endswith("-tracks")]
            if names:
                items = f"/ogc/collections/{names[0]}/items"
                page = await client.get(items, params={"limit": 1})
                if page.json()["numberMatched"] >= tracks:
                    return items
            if time.monotonic() > deadline:
                raise RuntimeError(f"Tessera did not serve {tracks} tracks in time")
            await asyncio.sleep(0.1)


async def _embedded(tracks: int, queries: int) -> dict[str, float]:
    async with server_process() as served:
        items = await _feed(served, tracks)
        return await asyncio.to_thread(_read, served.url, items, served.headers, queries)


def _written(dsn: str, tracks: int) -> str:
    """Wait until the worker has written every track; the picture they are in."""
    deadline = time.monotonic() + 120
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT picture, count(*) FROM tracks GROUP BY picture ORDER BY 2 DESC LIMIT 1"
            ).fetchone()
            if row is not None and row[1] >= tracks:
                return str(row[0])
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not write {tracks} tracks in time: {row}")
            time.sleep(0.1)


def _view(dsn: str, picture: str) -> None:
    """pygeoapi's window on Tessera's table: one picture's rows, id unique, the point as
    lon/lat geometry (``position::geometry``, which Tessera's index covers)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE VIEW {} AS SELECT id, identity, status, updated_at, "
                "body AS properties, position::geometry AS geom FROM tracks WHERE picture = {}"
            ).format(sql.Identifier(VIEW), sql.Literal(picture))
        )


def _pygeoapi_figures(dsn: str, tracks: int, queries: int) -> dict[str, float]:
    _view(dsn, _written(dsn, tracks))
    database = dsn.rsplit("/", 1)[1]
    with _pygeoapi(database) as base:
        return _read(base, f"/collections/{VIEW}/items", {}, queries)


async def _on_postgis(tracks: int, queries: int) -> dict[str, Any]:
    outcome: dict[str, Any] = {}
    async with scratch() as fresh:
        await fresh.worker()
        _, served = await fresh.gateway()
        items = await _feed(served, tracks)
        outcome["tessera"] = await asyncio.to_thread(
            _read, served.url, items, served.headers, queries
        )
        try:
            outcome["pygeoapi"] = await asyncio.to_thread(
                _pygeoapi_figures, fresh.dsn, tracks, queries
            )
        except Exception as exc:  # a peer that fails is reported, not dropped
            outcome["pygeoapi_error"] = f"{type(exc).__name__}: {exc}"
    return outcome


def _config(port: int, database: str) -> str:
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
  {VIEW}:
    type: collection
    title: tracks
    description: the tracks Tessera wrote
    keywords: [tracks]
    extents:
      spatial: {{bbox: [-180, -90, 180, 90],
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: 127.0.0.1, port: 5432, dbname: {database}, user: postgres,
          password: "", search_path: [public]}}
        id_field: id
        table: {VIEW}
        geom_field: geom
"""


@contextlib.contextmanager
def _pygeoapi(database: str) -> Iterator[str]:
    folder = install(PYGEOAPI) / "bin"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tessera-bench-pygeoapi-") as scratch:
        root = Path(scratch)
        (root / "config.yml").write_text(_config(port, database))
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
    outcome: dict[str, Any] = {"tracks": tracks}
    outcome.update(asyncio.run(_on_postgis(tracks, queries)))
    outcome["tessera_embedded"] = asyncio.run(_embedded(tracks, queries))
    for name in ("tessera", "tessera_embedded"):
        if outcome[name]["items"] != tracks:
            raise RuntimeError(f"{name} served {outcome[name]['items']} tracks, not {tracks}")
    return outcome

"""``make cluster-demo`` (``python -m tessera.cluster.demo``): two gateways and two fusion
workers on the machine's NATS and PostgreSQL, the exercise fed through the first gateway;
the second serves the fused picture; Ctrl-C stops everything and removes the streams."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import httpx
import nats
import psycopg
import pytest
from nats.js.errors import NotFoundError
from psycopg import sql

from tests.cluster.processes import NATS_URL
from tests.cluster.test_fusion_failover import until
from tests.postgis.databases import ADMIN_DSN, require_postgis
from tests.services import require_service

pytestmark = pytest.mark.slow
KEPT = re.compile(r"kept the database (tessera_demo[0-9a-f]+)")


async def lines(stream: asyncio.StreamReader, count: int) -> list[str]:
    return [(await asyncio.wait_for(stream.readline(), 120)).decode().strip() for _ in range(count)]


def test_the_cluster_demo_serves_the_exercise_on_both_gateways_and_stops_cleanly() -> None:
    require_service("NATS", "127.0.0.1", 4222)
    require_postgis()

    async def scenario() -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tessera.cluster.demo", "--rate", "100",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None and process.stderr is not None
        # Drained as it comes, so the demo's progress never fills the pipe.
        errors = asyncio.create_task(process.stderr.read())
        try:
            # Per gateway: its URL, then a login link per person.
            printed = await lines(process.stdout, 6)
            assert printed[0].startswith("gateway 1 ") and printed[3].startswith("gateway 2 ")
            second = printed[3].removeprefix("gateway 2 ").rstrip("/")
            officer = next(line for line in printed[4:] if line.startswith("login nato-officer"))
            token = officer.split("#token=", 1)[1]
            headers = {"authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=second, headers=headers, timeout=10) as client:

                async def fused_there() -> bool:
                    answer = await client.get("/api/v1/tracks", params={"picture": "NATO-SECRET"})
                    return answer.status_code == 200 and bool(answer.json()["features"])

                await until(fused_there, timeout=120)
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 120)
        said = (await errors).decode()
        assert process.returncode == 0, said[-2000:]
        kept = KEPT.search(said)
        assert kept is not None
        return kept.group(1)

    database = asyncio.run(scenario())
    try:
        asyncio.run(assert_streams_removed(database.removeprefix("tessera_")))
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


async def assert_streams_removed(name: str) -> None:
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        for stream in (f"J_{name.upper()}", f"C_{name.upper()}"):
            with pytest.raises(NotFoundError):
                await js.stream_info(stream)
    finally:
        await nc.close()

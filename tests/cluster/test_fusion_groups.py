"""Fusion spread over workers: each picture has a lease of its own, so workers given
different pictures (``--pictures``) are active side by side, one per picture. Kill -9 one
of them: the standby given the same picture takes it over, the other picture's worker
carries on untouched, and every picture afterwards equals the picture rebuilt from the
journal, each with its own journal cursor at its own checkpoint."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tessera.cluster.demo import toml_value
from tessera.security.demo import DEMO_PICTURES
from tests.cluster.processes import cluster
from tests.cluster.test_fusion_failover import (
    RESUMED,
    UNITS,
    assert_picture_is_the_journals,
    batch,
    checkpoint_position,
    cursor_position,
    until,
)
from tests.support import bearer

pytestmark = pytest.mark.slow
NATO, UKR = (picture.name for picture in DEMO_PICTURES)
# Releasable to both communities: both pictures admit every report.
BOTH = {"classification": "UNCLASSIFIED", "releasable_to": ["NATO", "UKR"]}
PICTURES = f"pictures = {toml_value(msgspec.to_builtins(DEMO_PICTURES))}"


def labelled(round_: int) -> list[dict[str, Any]]:
    return [dict(doc, label=BOTH) for doc in batch(round_)]


async def lons(client: httpx.AsyncClient, picture: str) -> list[float]:
    answer = await client.get("/api/v1/tracks", params={"picture": picture})
    assert answer.status_code == 200, answer.text
    return [f["geometry"]["coordinates"][0] for f in answer.json()["features"]]


def test_workers_fuse_different_pictures_side_by_side_and_fail_over_alone(
    tmp_path: Path, migrated: str
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, migrated, extra=PICTURES) as deployment:
            token = await deployment.token()
            nato, line = await deployment.start("fusion", "--pictures", NATO)
            assert line.startswith("fusion standby") and line.endswith(f"for {NATO}")
            assert (await deployment.line(nato)).startswith("fusion active")
            assert await deployment.line(nato) == "fusion caught up"
            # Another picture, another lease: active at once, beside the first.
            ukr, _ = await deployment.start("fusion", "--pictures", UKR)
            assert (await deployment.line(ukr)).startswith("fusion active")
            assert await deployment.line(ukr) == "fusion caught up"
            standby, line = await deployment.start("fusion", "--pictures", NATO)
            assert line.startswith("fusion standby")
            _, url = await deployment.start("gateway")
            async with httpx.AsyncClient(base_url=url, headers=bearer(token), timeout=30) as client:
                for round_ in range(3):
                    posted = await client.post("/api/v1/reports", json=labelled(round_))
                    assert posted.status_code == 202, posted.text

                async def both_fused() -> bool:
                    counts = [len(await lons(client, name)) for name in (NATO, UKR)]
                    return counts == [UNITS, UNITS]

                await until(both_fused)
                await asyncio.sleep(1.5)  # a checkpoint each (every 0.5 s here)
                nato.send_signal(signal.SIGKILL)
                await nato.wait()
                active = await deployment.line(standby)
                assert active.startswith("fusion active") and active.endswith(f"for {NATO}")
                resumed = RESUMED.fullmatch(await deployment.line(standby))
                assert resumed is not None
                assert 0 < int(resumed["cursor"]) <= int(resumed["checkpoint"])
                assert await deployment.line(standby) == "fusion caught up"
                for round_ in range(3, 6):
                    posted = await client.post("/api/v1/reports", json=labelled(round_))
                    assert posted.status_code == 202, posted.text

                async def both_moved() -> bool:
                    for name in (NATO, UKR):
                        seen = await lons(client, name)
                        if len(seen) != UNITS or min(seen) <= 18.0045:
                            return False
                    return True

                await until(both_moved)
            # The other picture's worker never stopped, nor gave up its lease.
            assert ukr.returncode is None
            for worker in (standby, ukr):
                worker.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(worker.wait(), 30) == 0
            for picture in DEMO_PICTURES:
                await assert_picture_is_the_journals(deployment, picture)
                assert await cursor_position(deployment, [picture.name]) == (
                    await checkpoint_position(deployment, picture.name)
                )

    asyncio.run(scenario())

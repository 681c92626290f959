"""Nothing acknowledged is lost: SIGKILL the server right after acknowledgements, then look."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.journal.sqlite import SqliteJournal
from tests.support import bearer, provision, report_doc

pytestmark = pytest.mark.slow


async def start_server(data: Path) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tessera.cli",
        "serve",
        "--data",
        str(data),
        "--http-port",
        "0",
        "--cot-tls-port",
        "0",
        "--tak-enrollment-port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    text = line.decode().strip()
    assert text.startswith("listening http "), text
    return process, "http://" + text.removeprefix("listening http ")


def batch(prefix: str, size: int) -> list[dict[str, Any]]:
    return [
        report_doc(report_id=f"{prefix}-{i}", lat=53.0 + i * 1e-4, source=prefix)
        for i in range(size)
    ]


async def post_until_killed(
    base: str,
    token: str,
    process: asyncio.subprocess.Process,
    acked: list[str],
    posted: list[str],
) -> bool:
    """Four concurrent posters; SIGKILL lands right after the 25th acknowledgement, while
    other batches are in flight. Says whether the signal was sent."""
    counter = 0
    killed = False

    async def poster(client: httpx.AsyncClient, worker: int) -> None:
        nonlocal counter, killed
        for round_ in range(200):
            docs = batch(f"w{worker}r{round_}", 100)
            posted.extend(doc["id"] for doc in docs)
            try:
                response = await client.post("/api/v1/reports", json=docs)
            except httpx.TransportError:
                return
            assert response.status_code == 202, response.text
            acked.extend(response.json()["accepted"])
            counter += 1
            if counter == 25:
                process.send_signal(signal.SIGKILL)
                killed = True

    async with httpx.AsyncClient(base_url=base, timeout=10, headers=bearer(token)) as client:
        await asyncio.gather(*(poster(client, worker) for worker in range(4)))
    return killed


async def stored_ids(data: Path) -> set[str]:
    journal = SqliteJournal(data / "journal.sqlite3", clock=lambda: datetime.now(UTC))
    await journal.open()
    try:
        entries = await journal.read(0, 10_000_000)
        return {entry.report.id for entry in entries if entry.report is not None}
    finally:
        await journal.close()


def test_every_acknowledged_report_survives_sigkill(tmp_path: Path) -> None:
    async def scenario() -> None:
        token = await provision(tmp_path)
        process, base = await start_server(tmp_path)
        acked: list[str] = []
        posted: list[str] = []
        killed = False
        try:
            killed = await post_until_killed(base, token, process, acked, posted)
        finally:
            # Signalling again would poll the killed child and reap it before asyncio's
            # watcher does, which then reports an exit status of 255.
            if not killed:
                process.kill()
            await process.wait()
        assert process.returncode == -signal.SIGKILL
        assert len(acked) >= 2500

        stored = await stored_ids(tmp_path)
        missing = set(acked) - stored
        assert not missing, f"{len(missing)} acknowledged reports lost"

        # Restart on the same data; a client that never got its answer retries its batch.
        process, base = await start_server(tmp_path)
        try:
            retry = batch("w0r0", 100)
            async with httpx.AsyncClient(
                base_url=base, timeout=10, headers=bearer(token)
            ) as client:
                response = await client.post("/api/v1/reports", json=retry)
                assert response.status_code == 202
                # Stored before the kill: the retry stores nothing new.
                assert set(response.json()["accepted"]) <= stored
                status = (await client.get("/api/v1/status")).json()
                assert status["fused_seq"] == status["journal_seq"] or status["fused_seq"] > 0
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 30)
        assert process.returncode == 0
        after = await stored_ids(tmp_path)
        assert after == stored, "the retried batch was stored once, not again"

    asyncio.run(scenario())

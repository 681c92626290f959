"""The links lease: two gateways configured with the same feed read it on one of them at a
time (each report journaled once); killing that one moves the feed to the other, which
carries on."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.cluster.processes import Cluster, cluster
from tests.codecs.test_adsb import sbs
from tests.support import ADMIN

pytestmark = pytest.mark.slow
WAIT_S = 60.0
SEND_EVERY_S = 0.1


class Basestation:
    """An SBS-1 server sending one new aircraft a message to whoever is connected; it
    counts its connections, and how many were ever open at once."""

    def __init__(self) -> None:
        self.sent = 0
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        self._writers.add(writer)
        try:
            await reader.read()  # until the gateway goes
        finally:
            self._writers.discard(writer)
            self.open -= 1
            writer.close()

    async def send(self) -> None:
        while True:
            await asyncio.sleep(SEND_EVERY_S)
            if not self._writers:
                continue
            self.sent += 1
            line = sbs(f"{self.sent:06X}", lat="54.3") + b"\r\n"
            for writer in list(self._writers):
                writer.write(line)


def _feed(port: int) -> str:
    return "\n".join(
        (
            "[[feeds]]",
            'name = "adsb"',
            'kind = "adsb-sbs"',
            f'address = "tcp://127.0.0.1:{port}"',
            f'principal = "{ADMIN.name}"',
            "backoff_s = 0.2",
            "backoff_max_s = 0.5",
        )
    )


async def _until(check: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not await check():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.1)


async def _subjects(deployment: Cluster) -> Counter[str]:
    entries = await deployment.journal_entries()
    return Counter(str(entry.report.subject) for entry in entries if entry.report is not None)


async def _lease_state(url: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        health = (await client.get("/api/v1/health")).json()
    return str(health.get("feeds", {}).get("links_lease", {}).get("state", ""))


def test_one_gateway_reads_a_shared_feed_and_another_takes_it_over(
    tmp_path: Any, migrated: str
) -> None:
    async def scenario() -> None:
        station = Basestation()
        server = await asyncio.start_server(station.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sending = asyncio.create_task(station.send())
        try:
            async with server, cluster(tmp_path, migrated, extra=_feed(port)) as deployment:
                # The feed's principal, before the gateways start.
                await deployment.token()
                first, url_a = await deployment.start("gateway")
                second, url_b = await deployment.start("gateway")
                gateways = {url_a: first, url_b: second}

                async def reading() -> bool:
                    return station.sent >= 20

                await _until(reading, "the feed to be read")
                states: dict[str, str] = {}

                async def settled() -> bool:
                    states.update({url: await _lease_state(url) for url in gateways})
                    return sorted(states.values()) == ["active", "standby"]

                await _until(settled, "one gateway to hold the links, the other to stand by")
                [holder_url] = [url for url, state in states.items() if state == "active"]
                [other_url] = [url for url in gateways if url != holder_url]
                holder = gateways[holder_url]
                assert station.connections == 1

                holder.send_signal(signal.SIGKILL)
                await holder.wait()
                before = station.sent

                async def carried_on() -> bool:
                    return station.connections >= 2 and station.sent >= before + 20

                await _until(carried_on, "the other gateway to take the feed over")

                async def active() -> bool:
                    return await _lease_state(other_url) == "active"

                await _until(active, "the other gateway to say it holds the links")
                # Never two readers at once: each aircraft journaled once.
                assert station.most_open == 1
                sent = station.sent

                async def journaled() -> bool:
                    counts = await _subjects(deployment)
                    return len(counts) >= sent - 5

                await _until(journaled, "the reports to be journaled")
                counts = await _subjects(deployment)
                assert max(counts.values()) == 1, counts.most_common(3)
        finally:
            sending.cancel()

    asyncio.run(scenario())

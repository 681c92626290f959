"""The links lease in one process: of two gateways' duties one runs the links; stopping it
hands them to the other; a holder whose key passes to another stops its links, and its
fenced journal appends nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import nats
import pytest

from tessera.cluster.fenced_journal import FencedJournal
from tessera.cluster.lease import LeaseLostError
from tessera.cluster.links_role import LINKS_KEY, LinksDuty, Stoppable
from tessera.cluster.links_status import LinksLeaseStatus
from tessera.journal.base import Journal
from tessera.settings import Settings, load_settings
from tests.cluster.processes import NATS_URL

WAIT_S = 20.0


class Service:
    def __init__(self) -> None:
        self.running = False

    async def stop(self) -> None:
        self.running = False


class Gateway:
    """One gateway's duty, its links a ``Service`` started under the lease's check."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.service = Service()
        self.starts = 0
        self.valid: Callable[[], bool] = lambda: False
        self.duty = LinksDuty(settings, LinksLeaseStatus(name), self._start)
        self.task: asyncio.Task[None] | None = None

    async def _start(self, valid: Callable[[], bool]) -> Sequence[Stoppable]:
        self.starts += 1
        self.valid = valid
        self.service.running = True
        return [self.service]

    def run(self) -> None:
        self.task = asyncio.create_task(self.duty.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait({self.task}, timeout=WAIT_S)


async def _until(check: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not check():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


def _settings(tmp_path: Path, bucket: str) -> Settings:
    return load_settings(
        data_dir=tmp_path, nats_servers=[NATS_URL], lease_bucket=bucket, lease_ttl_s=1.0
    )


def test_one_duty_runs_the_links_and_hands_them_over_when_stopped(
    tmp_path: Path, bucket: str
) -> None:
    async def scenario() -> None:
        settings = _settings(tmp_path, bucket)
        a, b = Gateway(settings, "a"), Gateway(settings, "b")
        a.run()
        await _until(lambda: a.service.running, "the first gateway to run the links")
        b.run()
        await _until(lambda: b.duty.status.held_by == "a", "the other to see who holds them")
        assert b.duty.status.state == "standby" and b.duty.status.held_elsewhere
        assert a.duty.status.state == "active" and not b.service.running
        await a.stop()
        assert not a.service.running
        await _until(lambda: b.service.running, "the other gateway to take the links over")
        assert b.duty.status.state == "active" and a.starts == b.starts == 1
        await b.stop()

    asyncio.run(scenario())


def test_a_holder_whose_key_passes_on_stops_and_appends_nothing(
    tmp_path: Path, bucket: str
) -> None:
    async def scenario() -> None:
        a = Gateway(_settings(tmp_path, bucket), "a")
        a.run()
        await _until(lambda: a.service.running, "the gateway to run the links")
        assert a.valid()
        # A successor took the key (as after a pause past the lease's time to live).
        nc = await nats.connect(NATS_URL)
        try:
            kv = await nc.jetstream().key_value(bucket)
            await kv.purge(LINKS_KEY)
            revision = await kv.create(LINKS_KEY, b"b")

            async def renew() -> None:
                nonlocal revision
                while True:
                    await asyncio.sleep(0.25)
                    revision = await kv.update(LINKS_KEY, b"b", last=revision)

            renewing = asyncio.create_task(renew())
            await _until(lambda: not a.service.running, "the links to stop")
            assert not a.valid()
            journal = FencedJournal(cast("Journal", object()), a.valid)
            with pytest.raises(LeaseLostError):
                await journal.append([])
            await _until(lambda: a.duty.status.held_by == "b", "it to stand by")
            assert a.duty.status.state == "standby" and a.starts == 1
            renewing.cancel()
        finally:
            await a.stop()
            await nc.close()

    asyncio.run(scenario())

"""The CoT relay contract: every implementation must pass every case here.

A relay carries what one process's TAK clients shared to the other processes of the
deployment. The NATS relay runs as separate gateways would, each on its own connection
to the machine's NATS, with a subject prefix of the test's own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta

import nats
import pytest

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_share import SharedEvent, encode_shared
from tessera.core.model import Label
from tessera.relay.base import CotRelay, Item
from tessera.relay.memory import LocalExchange, LocalRelay
from tessera.relay.nats import NatsRelay
from tests.services import require_service

NATS_HOST, NATS_PORT = "127.0.0.1", 4222
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
NATO = Label("RESTRICTED", ("NATO",))
UKR = Label("CONFIDENTIAL", ("UKR",))


def event(uid: str, *, lat: float = 53.1, type_: str = "a-f-G-U-C") -> CotEvent:
    return CotEvent(
        uid=uid, type=type_, how="m-g", time=T0, start=T0, stale=T0 + timedelta(minutes=5),
        lat=lat, lon=18.0, callsign=uid.upper(),
    )  # fmt: skip


class Link:
    """A process's receiving side, recording what arrives."""

    def __init__(self, here: list[Item] | None = None) -> None:
        self.live: list[SharedEvent] = []
        self.recalled_events: list[SharedEvent] = []
        self.here = here or []

    def from_peer(self, shared: SharedEvent) -> None:
        self.live.append(shared)

    def recalled(self, shared: SharedEvent) -> None:
        self.recalled_events.append(shared)

    def shared_here(self) -> list[Item]:
        return list(self.here)


class Deployment:
    """Relays of one deployment: ``relay()`` makes another process's."""

    def __init__(self, make: Callable[[str], CotRelay], prefix: str) -> None:
        self._make = make
        self.prefix = prefix
        self.opened: list[CotRelay] = []

    async def relay(self, link: Link, origin: str | None = None) -> CotRelay:
        relay = self._make(origin or uuid.uuid4().hex)
        await relay.open(link)
        self.opened.append(relay)
        return relay

    async def close(self) -> None:
        for relay in self.opened:
            await relay.close()


DeploymentFactory = Callable[[], AbstractAsyncContextManager[Deployment]]


@asynccontextmanager
async def memory_deployment() -> AsyncIterator[Deployment]:
    exchange = LocalExchange()
    deployment = Deployment(lambda origin: LocalRelay(origin, exchange), "")
    try:
        yield deployment
    finally:
        await deployment.close()


@asynccontextmanager
async def nats_deployment() -> AsyncIterator[Deployment]:
    prefix = f"test.{uuid.uuid4().hex[:12]}.cot"
    deployment = Deployment(
        lambda origin: NatsRelay(NATS_URL, origin=origin, prefix=prefix), prefix
    )
    try:
        yield deployment
    finally:
        await deployment.close()


@pytest.fixture(params=["memory", "nats"])
def deployment(request: pytest.FixtureRequest) -> DeploymentFactory:
    if request.param == "nats":
        require_service("NATS", NATS_HOST, NATS_PORT)
        return nats_deployment
    return memory_deployment


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_what_one_process_shares_reaches_every_other_and_never_itself(
    deployment: DeploymentFactory,
) -> None:
    async def scenario() -> None:
        async with deployment() as processes:
            a, b, c = Link(), Link(), Link()
            sender = await processes.relay(a)
            await processes.relay(b)
            await processes.relay(c)
            sender.share(event("alpha-1"), NATO, chat=False)
            sender.share(event("GeoChat.alpha-1.All.1", type_="b-t-f"), UKR, chat=True)
            await until(lambda: len(b.live) == 2 and len(c.live) == 2)
            for link in (b, c):
                position, chat = link.live
                assert (position.event, position.label, position.chat) == (
                    event("alpha-1"), NATO, False,
                )  # fmt: skip
                assert (chat.event.uid, chat.label, chat.chat) == (
                    "GeoChat.alpha-1.All.1",
                    UKR,
                    True,
                )
                assert position.origin == chat.origin == sender.origin
            await asyncio.sleep(0.2)
            assert a.live == [] and len(b.live) == len(c.live) == 2

    run(scenario)


def test_one_senders_events_arrive_in_order(deployment: DeploymentFactory) -> None:
    async def scenario() -> None:
        async with deployment() as processes:
            b = Link()
            sender = await processes.relay(Link())
            await processes.relay(b)
            for step in range(200):
                sender.share(event("alpha-1", lat=50 + step / 100), NATO, chat=False)
            await until(lambda: len(b.live) == 200)
            assert [shared.event.lat for shared in b.live] == [50 + s / 100 for s in range(200)]

    run(scenario)


def test_messages_carrying_a_process_own_origin_are_ignored(
    deployment: DeploymentFactory,
) -> None:
    async def scenario() -> None:
        async with deployment() as processes:
            mine, other = Link(), Link()
            origin = uuid.uuid4().hex
            await processes.relay(mine, origin)
            await processes.relay(other)
            # Another connection claiming the same origin: still "our own".
            twin = await processes.relay(Link(), origin)
            twin.share(event("alpha-1"), NATO, chat=False)
            await until(lambda: len(other.live) == 1)
            await asyncio.sleep(0.2)
            assert mine.live == []

    run(scenario)


def test_a_process_that_joins_later_recalls_what_the_others_hold(
    deployment: DeploymentFactory,
) -> None:
    async def scenario() -> None:
        async with deployment() as processes:
            held = [
                Item(event("alpha-1"), NATO, False),
                Item(event("GeoChat.alpha-1.All.1", type_="b-t-f"), UKR, True),
            ]
            first = await processes.relay(Link(held))
            second = await processes.relay(Link([Item(event("bravo-1"), NATO, False)]))
            late = Link()
            await processes.relay(late)
            await until(lambda: len(late.recalled_events) == 3)
            got = {(s.event.uid, s.label, s.chat, s.origin) for s in late.recalled_events}
            assert got == {
                ("alpha-1", NATO, False, first.origin),
                ("GeoChat.alpha-1.All.1", UKR, True, first.origin),
                ("bravo-1", NATO, False, second.origin),
            }
            assert late.live == []

    run(scenario)


def test_a_closed_relay_neither_sends_nor_receives(deployment: DeploymentFactory) -> None:
    async def scenario() -> None:
        async with deployment() as processes:
            gone, staying = Link(), Link()
            closing = await processes.relay(gone)
            sender = await processes.relay(staying)
            await closing.close()
            closing.share(event("alpha-1"), NATO, chat=False)
            sender.share(event("bravo-1"), NATO, chat=False)
            await asyncio.sleep(0.3)
            assert gone.live == [] and staying.live == []

    run(scenario)


def test_the_embedded_default_needs_nothing_and_sends_nowhere() -> None:
    async def scenario() -> None:
        alone, other = LocalRelay("one"), LocalRelay("two")
        link = Link()
        await alone.open(Link([Item(event("alpha-1"), NATO, False)]))
        await other.open(link)
        alone.share(event("bravo-1"), NATO, chat=False)
        await asyncio.sleep(0.05)
        assert link.live == [] and link.recalled_events == []
        await alone.close()
        await other.close()

    run(scenario)


def test_garbage_on_the_subjects_is_logged_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    require_service("NATS", NATS_HOST, NATS_PORT)

    async def scenario() -> None:
        async with nats_deployment() as processes:
            link = Link([Item(event("alpha-1"), NATO, False)])
            relay = await processes.relay(link)
            assert isinstance(relay, NatsRelay)
            nc = await nats.connect(NATS_URL)
            try:
                for junk in (b"", b"\x00\xff garbage", b"<event/>"):
                    await nc.publish(relay.events_subject, junk)
                    await nc.publish(relay.sync_subject, junk, reply=nc.new_inbox())
                valid = SharedEvent(event=event("bravo-1"), label=NATO, chat=False, origin="peer")
                await nc.publish(relay.events_subject, encode_shared(valid))
                await nc.flush()
            finally:
                await nc.close()
            # The subscriber lived through it: the valid message after the junk arrives.
            await until(lambda: [s.event.uid for s in link.live] == ["bravo-1"])

    with caplog.at_level("WARNING", logger="tessera.relay.nats"):
        run(scenario)
    dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 6


def test_a_peer_answers_a_sync_request_on_its_inbox_only() -> None:
    require_service("NATS", NATS_HOST, NATS_PORT)

    async def scenario() -> None:
        async with nats_deployment() as processes:
            held = Link([Item(event("alpha-1"), NATO, False)])
            await processes.relay(held)
            listener = Link()
            await processes.relay(listener)
            # Joining once more: answered to the joiner's inbox, not to everyone.
            await processes.relay(Link())
            await asyncio.sleep(0.3)
            assert listener.live == []
            assert [s.event.uid for s in listener.recalled_events] == ["alpha-1"]

    run(scenario)

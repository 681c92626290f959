"""TAK clients of several CoT servers (a deployment's gateways, here in one process) see
each other as on one server: positions, chat and the hub's memory cross over the relay,
each client gets only what its principal may read, and a unit's own position from
another server still stands in for its fused track."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_reports import FUSED_HOW
from tessera.codecs.cot_share import decode_shared
from tessera.core.model import Label, Principal, Role
from tessera.relay.base import CotRelay
from tessera.relay.memory import LocalExchange, LocalRelay
from tessera.relay.nats import NatsRelay
from tests.services import require_service
from tests.support import report_doc
from tests.transports.cot_support import CotReader, LiveCot, live_cot
from tests.transports.test_cot_stream import (
    NATO_PICTURE,
    PytakClient,
    chat,
    marker,
    position,
    pytak_config,
)

pytestmark = pytest.mark.slow
NATS_URL = "nats://127.0.0.1:4222"
NATO = {"classification": "RESTRICTED", "releasable_to": ["NATO"]}
UKR = {"classification": "RESTRICTED", "releasable_to": ["UKR"]}


def field(name: str, *communities: str) -> Principal:
    return Principal(
        name=name, communities=communities, clearance="RESTRICTED",
        roles=(Role.VIEWER, Role.REPORTER), default_label=Label("RESTRICTED", (communities[0],)),
    )  # fmt: skip


# The first server's clients may share for NATO (by default) and for UKR (the scout's
# position, by its source label); each other server's clients read one community only.
BOTH, NATO_ONLY, UKR_ONLY = (
    field("field-both", "NATO", "UKR"),
    field("field-nato", "NATO"),
    field("field-ukr", "UKR"),
)


class Deployment:
    """CoT servers sharing one relay family: an exchange in this process, or NATS."""

    def __init__(self, tmp_path: Path, kind: str) -> None:
        self.tmp_path = tmp_path
        self.kind = kind
        self.prefix = f"test.{uuid.uuid4().hex[:12]}.cot"
        self.exchange = LocalExchange()
        self.stack = contextlib.AsyncExitStack()

    def relay(self) -> CotRelay:
        origin = uuid.uuid4().hex
        if self.kind == "nats":
            return NatsRelay(NATS_URL, origin=origin, prefix=self.prefix)
        return LocalRelay(origin, self.exchange)

    async def server(self, name: str, principal: Principal, **overrides: Any) -> LiveCot:
        overrides = {"cot_tcp_port": 0, **overrides}
        return await self.stack.enter_async_context(
            live_cot(
                self.tmp_path / name,
                [principal],
                relay=self.relay(),
                cot_tcp_principal=principal.name,
                **overrides,
            )
        )

    async def client(self, server: LiveCot) -> CotReader:
        url = f"tcp://127.0.0.1:{server.ports['cot']}"
        client = await self.stack.enter_async_context(PytakClient(pytak_config(url)))
        assert client.reader is not None
        # Welcomed once offered the protocol: from here on it receives what is shared.
        await client.reader.wait_for(lambda e: e.type == "t-x-takp-v")
        return client.reader

    async def sender(self, server: LiveCot) -> PytakClient:
        url = f"tcp://127.0.0.1:{server.ports['cot']}"
        client = await self.stack.enter_async_context(PytakClient(pytak_config(url)))
        assert client.reader is not None
        await client.reader.wait_for(lambda e: e.type == "t-x-takp-v")
        return client


@pytest.fixture(params=["memory", "nats"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "nats":
        require_service("NATS", "127.0.0.1", 4222)
    return str(request.param)


def run(tmp_path: Path, kind: str, scenario: Callable[[Deployment], Awaitable[None]]) -> None:
    async def main() -> None:
        deployment = Deployment(tmp_path, kind)
        async with deployment.stack:
            await asyncio.wait_for(scenario(deployment), 90)

    asyncio.run(main())


@contextlib.asynccontextmanager
async def shared_on_nats(prefix: str) -> AsyncIterator[Counter[str]]:
    """How many times each uid is published on the deployment's subject."""
    seen: Counter[str] = Counter()

    async def count(msg: Msg) -> None:
        seen[decode_shared(msg.data).event.uid] += 1

    nc = await nats.connect(NATS_URL)
    try:
        await nc.subscribe(f"{prefix}.events", cb=count)
        await nc.flush()
        yield seen
    finally:
        await nc.close()


def uids(reader: CotReader) -> set[str]:
    return {event.uid for event in reader.events}


def at(uid: str, lat: float) -> Callable[[CotEvent], bool]:
    return lambda e: e.uid == uid and abs(e.lat - lat) < 1e-6


def test_what_a_client_shares_reaches_the_clients_of_every_server_that_may_read_it(
    tmp_path: Path, kind: str
) -> None:
    async def scenario(deployment: Deployment) -> None:
        counted = await deployment.stack.enter_async_context(shared_on_nats(deployment.prefix))
        first = await deployment.server("a", BOTH, source_labels={"ukr-scout": UKR})
        second = await deployment.server("b", NATO_ONLY)
        third = await deployment.server("c", UKR_ONLY)
        nato_reader = await deployment.client(second)
        ukr_reader = await deployment.client(third)
        alpha, scout = await deployment.sender(first), await deployment.sender(first)

        await alpha.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
        seen = await nato_reader.wait_for(lambda e: e.uid == "alpha-1")
        assert seen.callsign == "ALPHA" and seen.how != FUSED_HOW
        await alpha.send(chat("alpha-1", "contact at the bridge"))
        message = await nato_reader.wait_for(lambda e: e.type == "b-t-f")
        assert message.remarks == "contact at the bridge"
        await scout.send(position("ukr-scout", 50.4, 30.5, "SCOUT"))
        await ukr_reader.wait_for(lambda e: e.uid == "ukr-scout")
        # Each sender's events arrive in order: once the next one is there, whatever
        # the reader may not see has been and gone without reaching it.
        await alpha.send(position("alpha-1", 53.3, 18.0, "ALPHA"))
        await nato_reader.wait_for(at("alpha-1", 53.3))
        await scout.send(position("ukr-scout", 50.5, 30.5, "SCOUT"))
        await ukr_reader.wait_for(at("ukr-scout", 50.5))
        assert "ukr-scout" not in uids(nato_reader)
        assert not {"alpha-1", message.uid} & uids(ukr_reader)

        # A client connecting later gets the current state and the chat at once.
        late = await deployment.client(second)
        await late.wait_for(at("alpha-1", 53.3), timeout=2)
        await late.wait_for(lambda e: e.type == "b-t-f", timeout=2)
        assert "ukr-scout" not in uids(late)
        assert not [e for e in late.events if e.uid == "alpha-1" and abs(e.lat - 53.1) < 1e-6]
        if deployment.kind == "nats":
            # Published once each, by the server its sender is on: never passed on.
            assert counted == Counter({"alpha-1": 2, "ukr-scout": 2, message.uid: 1})

    run(tmp_path, kind, scenario)


def test_a_units_own_position_from_another_server_stands_in_for_its_fused_track(
    tmp_path: Path, kind: str
) -> None:
    async def scenario(deployment: Deployment) -> None:
        first = await deployment.server("a", BOTH)
        second = await deployment.server("b", NATO_ONLY, pictures=[NATO_PICTURE])
        reader = await deployment.client(second)
        alpha = await deployment.sender(first)
        await alpha.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
        await reader.wait_for(lambda e: e.uid == "alpha-1")
        # The second server fuses reports about the same unit, and about another one.
        live = second.live
        async with live.client() as admin:
            for subject in ("alpha-1", "bravo-9"):
                doc = report_doc(subject=subject, kind="unit", source=subject, label=NATO)
                answer = await admin.post("/api/v1/reports", json=[doc])
                assert answer.status_code == 202, answer.text
        track = await reader.wait_for(lambda e: e.uid == "bravo-9")
        assert track.how == FUSED_HOW
        assert not [e for e in reader.events if e.uid == "alpha-1" and e.how == FUSED_HOW]
        assert second.cot.hub.delivers(second.cot.sessions()[0], "alpha-1")

    run(tmp_path, kind, scenario)


def test_a_server_that_starts_later_gets_what_the_others_clients_shared(
    tmp_path: Path, kind: str
) -> None:
    async def scenario(deployment: Deployment) -> None:
        first = await deployment.server("a", BOTH, source_labels={"ukr-scout": UKR})
        alpha, scout = await deployment.sender(first), await deployment.sender(first)
        await alpha.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
        await alpha.send(chat("alpha-1", "contact at the bridge"))
        await scout.send(position("ukr-scout", 50.4, 30.5, "SCOUT"))
        await asyncio.sleep(0.3)  # received and held by the first server's hub
        second = await deployment.server("b", NATO_ONLY)
        reader = await deployment.client(second)
        await reader.wait_for(lambda e: e.uid == "alpha-1", timeout=5)
        message = await reader.wait_for(lambda e: e.type == "b-t-f", timeout=5)
        assert message.remarks == "contact at the bridge"
        third = await deployment.server("c", UKR_ONLY)
        ukr_reader = await deployment.client(third)
        await ukr_reader.wait_for(lambda e: e.uid == "ukr-scout", timeout=5)
        assert "ukr-scout" not in uids(reader)
        assert not {"alpha-1", message.uid} & uids(ukr_reader)

    run(tmp_path, kind, scenario)


def test_addressed_chat_and_deletes_cross_to_the_other_server(tmp_path: Path, kind: str) -> None:
    async def scenario(deployment: Deployment) -> None:
        first = await deployment.server("a", BOTH)
        second = await deployment.server("b", NATO_ONLY)
        alpha, alpha_peer = await deployment.sender(first), await deployment.sender(first)
        bravo, bravo_peer = await deployment.sender(second), await deployment.sender(second)
        for client, uid, callsign in (
            (alpha, "alpha-1", "ALPHA"), (alpha_peer, "alpha-2", "ALPHA2"),
            (bravo, "bravo-1", "BRAVO"), (bravo_peer, "bravo-2", "BRAVO2"),
        ):  # fmt: skip
            await client.send(position(uid, 53.1, 18.0, callsign))
        assert alpha.reader and alpha_peer.reader and bravo.reader and bravo_peer.reader
        await alpha.reader.wait_for(lambda e: e.uid == "bravo-1")
        await alpha.reader.wait_for(lambda e: e.uid == "bravo-2")
        await bravo.reader.wait_for(lambda e: e.uid == "alpha-1")

        # Chat for BRAVO reaches bravo on the other server, and nobody else.
        await alpha.send(chat("alpha-1", "for bravo", message_id="p1", marti=to_callsign("BRAVO")))
        private = await bravo.reader.wait_for(lambda e: e.type == "b-t-f")
        assert private.remarks == "for bravo"
        await alpha.send(position("alpha-1", 53.2, 18.0, "ALPHA"))
        for reader in (alpha_peer.reader, bravo_peer.reader):
            await reader.wait_for(at("alpha-1", 53.2))
            assert private.uid not in uids(reader)

        # A marker's delete from another principal is refused where it is sent...
        await alpha.send(marker("mark-1", "alpha-1", 53.3, 18.1))
        await bravo.reader.wait_for(lambda e: e.uid == "mark-1")
        assert second.cot.hub.held("mark-1") is not None
        await bravo.send(deletion("del-bravo", "mark-1"))
        await bravo.send(position("bravo-1", 53.4, 18.0, "BRAVO"))
        await alpha.reader.wait_for(at("bravo-1", 53.4))
        await bravo_peer.reader.wait_for(at("bravo-1", 53.4))
        assert "del-bravo" not in uids(alpha.reader) | uids(bravo_peer.reader)
        # ...and its author's removes it on both servers.
        await alpha.send(deletion("del-alpha", "mark-1"))
        for reader in (bravo.reader, bravo_peer.reader, alpha_peer.reader):
            removal = await reader.wait_for(lambda e: e.uid == "del-alpha")
            assert removal.type == "t-x-d-d"
        assert second.cot.hub.held("mark-1") is None and first.cot.hub.held("mark-1") is None
        late = await deployment.client(second)
        await late.wait_for(at("bravo-1", 53.4), timeout=2)
        assert "mark-1" not in uids(late)

    run(tmp_path, kind, scenario)


def to_callsign(callsign: str) -> str:
    return f'<marti><dest callsign="{callsign}"/></marti>'


def deletion(uid: str, target: str) -> bytes:
    stamp = "2026-11-25T10:00:00Z"
    return (
        f'<event version="2.0" uid="{uid}" type="t-x-d-d" how="h-g-i-g-o" time="{stamp}" '
        f'start="{stamp}" stale="{stamp}"><point lat="0" lon="0" hae="0" ce="9999999" '
        f'le="9999999"/><detail><link uid="{target}" relation="none" type="none"/>'
        "<__forcedelete/></detail></event>"
    ).encode()

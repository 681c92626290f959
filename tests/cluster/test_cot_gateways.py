"""TAK clients on different gateways see each other as on one server: what a client on
one gateway shares reaches the clients of the others that may read it, live and on
connecting later, and a gateway started later gets what is current from the others;
what a client's principal may not read never reaches it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tessera.codecs.cot import CotEvent
from tessera.core.model import Label, Principal, Role
from tessera.security.base import SourceGrant
from tessera.security.postgis import PostgisSecurityStore
from tests.cluster.processes import Cluster, cluster
from tests.transports.cot_support import CotReader
from tests.transports.test_cot_stream import PytakClient, chat, position, pytak_config

pytestmark = pytest.mark.slow
WAIT_S = 15.0


def field(name: str, *communities: str) -> Principal:
    return Principal(
        name=name, communities=communities, clearance="RESTRICTED",
        roles=(Role.VIEWER, Role.REPORTER), default_label=Label("RESTRICTED", (communities[0],)),
    )  # fmt: skip


# Gateway 1's clients share for NATO by default and the scout's position for UKR (its
# source label); gateway 2's read NATO only, gateway 3's UKR only.
BOTH = field("field-both", "NATO", "UKR")
NATO_ONLY = field("field-nato", "NATO")
UKR_ONLY = field("field-ukr", "UKR")
SCOUT_LABEL = (
    'source_labels = { "ukr-scout" = { classification = "RESTRICTED", releasable_to = ["UKR"] } }'
)


async def add_principals(deployment: Cluster, *principals: Principal) -> None:
    store = PostgisSecurityStore(deployment.dsn)
    await store.open()
    try:
        for principal in principals:
            await store.add_principal(principal)
            # Plain TCP: each client reports as whatever uid it names.
            await store.add_source_grant(SourceGrant(principal=principal.name, pattern="*"))
    finally:
        await store.close()


async def gateway(deployment: Cluster, principal: Principal, *lines: str) -> int:
    """A gateway whose plain TCP CoT clients act as ``principal``; its CoT port."""
    config = deployment.root / f"gateway-{principal.name}.toml"
    extra = "\n".join((f'cot_tcp_principal = "{principal.name}"', *lines))
    config.write_text(deployment.config.read_text() + extra + "\n")
    process, _ = await deployment.start("gateway", "--cot-port", "0", config=config)
    return await deployment.cot_port(process)


async def connect(port: int) -> PytakClient:
    client = PytakClient(pytak_config(f"tcp://127.0.0.1:{port}"))
    await client.__aenter__()
    assert client.reader is not None
    # Offered the protocol once welcomed: from here on it receives what is shared.
    await client.reader.wait_for(lambda e: e.type == "t-x-takp-v", WAIT_S)
    return client


def reader(client: PytakClient) -> CotReader:
    assert client.reader is not None
    return client.reader


def at(uid: str, lat: float) -> Callable[[CotEvent], bool]:
    return lambda e: e.uid == uid and abs(e.lat - lat) < 1e-6


def uids(client: PytakClient) -> set[str]:
    return {event.uid for event in reader(client).events}


def test_tak_clients_on_different_gateways_see_each_other_as_on_one_server(
    tmp_path: Path, migrated: str
) -> None:
    async def scenario() -> None:
        clients: list[PytakClient] = []

        async def client(port: int) -> PytakClient:
            clients.append(await connect(port))
            return clients[-1]

        async with cluster(tmp_path, migrated) as deployment:
            await add_principals(deployment, BOTH, NATO_ONLY, UKR_ONLY)
            first = await gateway(deployment, BOTH, SCOUT_LABEL)
            second = await gateway(deployment, NATO_ONLY)
            try:
                nato = await client(second)
                alpha, scout = await client(first), await client(first)

                await alpha.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
                seen = await reader(nato).wait_for(lambda e: e.uid == "alpha-1", WAIT_S)
                assert seen.callsign == "ALPHA"
                await alpha.send(chat("alpha-1", "contact at the bridge"))
                message = await reader(nato).wait_for(lambda e: e.type == "b-t-f", WAIT_S)
                assert message.remarks == "contact at the bridge"
                await scout.send(position("ukr-scout", 50.4, 30.5, "SCOUT"))
                # One gateway's messages arrive in order: once the next one is there,
                # the scout's position has reached gateway 2, and not its NATO client.
                await alpha.send(position("alpha-1", 53.3, 18.0, "ALPHA"))
                await reader(nato).wait_for(at("alpha-1", 53.3), WAIT_S)
                assert "ukr-scout" not in uids(nato)

                # Connecting to gateway 2 later: the current position and the chat at once.
                late = await client(second)
                await reader(late).wait_for(at("alpha-1", 53.3), 5)
                await reader(late).wait_for(lambda e: e.type == "b-t-f", 5)
                assert "ukr-scout" not in uids(late)

                # A gateway started now gets what is current from the others; its UKR
                # client the scout's position, at once and then live, and nothing NATO.
                third = await gateway(deployment, UKR_ONLY)
                ukr = await client(third)
                await reader(ukr).wait_for(at("ukr-scout", 50.4), WAIT_S)
                await alpha.send(position("alpha-1", 53.4, 18.0, "ALPHA"))
                await scout.send(position("ukr-scout", 50.5, 30.5, "SCOUT"))
                await reader(ukr).wait_for(at("ukr-scout", 50.5), WAIT_S)
                await reader(nato).wait_for(at("alpha-1", 53.4), WAIT_S)
                assert not {"alpha-1", message.uid} & uids(ukr)
                assert "ukr-scout" not in uids(nato) | uids(late)
            finally:
                for each in clients:
                    await each.__aexit__(None, None, None)

    asyncio.run(asyncio.wait_for(scenario(), 240))

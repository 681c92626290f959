"""Tessera nodes federated in the caller's event loop (tests and the federation
benchmark): each an in-process Tessera on the embedded default, its federation listener
on 127.0.0.1 (a free port), its links to the others' listeners, each through an
impairment proxy."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.impairment import ImpairedProxy, Impairment, Tap
from tessera.app import Tessera, build
from tessera.core.model import Identity, Label, Position, Report, Source, SourceKind
from tessera.security.tls import CA_FILE, certs_dir, ensure_deployment
from tessera.server import bind
from tessera.settings import Settings, load_settings
from tessera.transports.federation.service import Federation

NATO_UNCLASSIFIED = Label("UNCLASSIFIED", ("NATO",))
EVERYTHING: dict[str, Any] = {"max_classification": None, "releasable_to": None}


@dataclass
class Node:
    name: str
    tessera: Tessera
    federation: Federation
    port: int  # where its federation listener is bound
    running: bool = True

    def status(self, link: str) -> Any:
        return self.tessera.federation.links[link]

    async def stop(self) -> None:
        if self.running:
            self.running = False
            await self.federation.stop()
            await self.tessera.stop()

    async def restart(self) -> None:
        """Stopped if need be, then started again on the same data folder and port."""
        await self.stop()
        await self._start(self.tessera.settings, bind("127.0.0.1", self.port))

    @classmethod
    async def started(cls, settings: Settings, sock: socket.socket) -> Node:
        node = cls.__new__(cls)
        node.name, node.port = settings.federation_node or "", sock.getsockname()[1]
        await node._start(settings, sock)
        return node

    async def _start(self, settings: Settings, sock: socket.socket) -> None:
        self.tessera = build(settings)
        await self.tessera.start()
        self.federation = Federation(self.tessera)
        await self.federation.start(sock)
        self.running = True


@dataclass
class Mesh:
    nodes: dict[str, Node]
    # (from, to): the proxy the link from ``from`` to ``to`` goes through.
    proxies: dict[tuple[str, str], ImpairedProxy] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def mesh(
    tmp_path: Path,
    edges: Sequence[tuple[str, str]],
    *,
    tls: bool = True,
    impairment: Impairment | None = None,
    tap: Tap | None = None,
    release: dict[str, Any] | None = None,
    ceiling: str = "SECRET",
    **link_options: Any,
) -> AsyncIterator[Mesh]:
    """Nodes named in ``edges`` (from, to): ``from`` dials ``to`` through a proxy; every
    pair of an edge has links both ways (the receiving side's link has no peer unless
    the edge goes both ways)."""
    names = sorted({name for edge in edges for name in edge})
    socks: dict[str, socket.socket] = {name: bind("127.0.0.1", 0) for name in names}
    proxies: dict[tuple[str, str], ImpairedProxy] = {}
    for source, target in edges:
        port = socks[target].getsockname()[1]
        proxy = ImpairedProxy(("127.0.0.1", port), impairment or Impairment(), tap)
        proxies[(source, target)] = proxy
        await proxies[(source, target)].start()
    ca = {}
    for name in names:
        ensure_deployment(tmp_path / name)
        ca[name] = str(certs_dir(tmp_path / name) / CA_FILE)
    nodes: dict[str, Node] = {}
    try:
        for name in names:
            partners = sorted(
                {b for a, b in edges if a == name} | {a for a, b in edges if b == name}
            )
            links = []
            for partner in partners:
                dialled = proxies.get((name, partner))
                links.append(
                    {
                        "name": partner,
                        "peer": None if dialled is None else dialled.address,
                        "peer_ca": ca[partner],
                        "release": release or EVERYTHING,
                        "ceiling": ceiling,
                        # Tests wait on positions: every one goes at once.
                        "position_every_s": 0.0,
                        **link_options,
                    }
                )
            settings = load_settings(
                data_dir=tmp_path / name,
                http_port=0,
                cot_tls_port=None,
                federation_node=name,
                federation_tls=tls,
                federation=links,
            )
            nodes[name] = await Node.started(settings, socks.pop(name))
        yield Mesh(nodes, proxies)
    finally:
        for proxy in proxies.values():
            await proxy.stop()
        for node in nodes.values():
            await node.stop()
        for sock in socks.values():
            sock.close()


def report(
    node: str,
    number: int,
    *,
    label: Label = NATO_UNCLASSIFIED,
    subject: str | None = None,
    identity: Identity = Identity.UNKNOWN,
    at: datetime | None = None,
) -> Report:
    """A report as ``node``'s journal would hold it, its id naming where it began."""
    return Report(
        id=f"{node}-r{number}",
        source=Source(id=f"{node}-sensor", kind=SourceKind.SENSOR),
        observed_at=at or datetime.now(UTC) - timedelta(seconds=1),
        position=Position(lat=50.0 + number % 100 / 1000, lon=20.0 + number % 1000 / 10000),
        subject=subject,
        identity=identity,
        label=label,
        remarks=f"marker-{node}-r{number:07d}",
    )

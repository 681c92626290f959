"""The services that reach out or take reports in: sensor feeds, imagery sources,
federation (its dialled links) and TAK server links, started with the server.

In one process (role "all") they start at once. On a gateway of a scale-out deployment
they run under the links lease (``cluster.links_role``): on one gateway at a time, moving
to another when it dies, writing through a journal fenced by the lease. Federation's
listener is every gateway's (a partner dials one of them); only its dialling moves.
"""

from __future__ import annotations

import asyncio
import copy
import os
import socket
from collections.abc import Callable, Sequence
from typing import Protocol

from tessera.cluster.fenced_journal import FencedJournal
from tessera.cluster.links_role import LinksDuty, Stoppable
from tessera.cluster.links_status import LinksLeaseStatus
from tessera.federation.status import LinkStatus
from tessera.transports.federation.host import Federating
from tessera.transports.federation.service import Federation, start_federation
from tessera.transports.feeds.base import FeedStatus
from tessera.transports.feeds.runner import start_feeds
from tessera.transports.imagery.runner import Imaging, start_imagery
from tessera.transports.imagery.status import ImageryStatus
from tessera.transports.tak_client.link import Linking, start_tak_links
from tessera.transports.tak_client.status import TakLinkStatus

# How long stopping waits for the lease's duty to hand its services over.
STOP_WAIT_S = 10.0


class LinksHost(Linking, Imaging, Federating, Protocol):
    """What the links need of a running Tessera (``app.Tessera`` is one)."""


def leased(host: LinksHost) -> bool:
    """Whether this process runs its links under the lease: a gateway with any to run."""
    settings = host.settings
    dialled = any(link.peer is not None for link in settings.federation)
    wanted = bool(settings.feeds or settings.imagery or settings.tak_servers or dialled)
    return host.role == "gateway" and wanted


class _Dialling:
    def __init__(self, federation: Federation) -> None:
        self._federation = federation

    async def stop(self) -> None:
        await self._federation.stop_dialling()


async def _start_outbound(host: LinksHost, federation: Federation | None) -> list[Stoppable]:
    """Start the feeds, TAK server links, imagery and federation's dialling, writing
    through ``host``; what to stop, in the order to stop it."""
    running: list[Stoppable] = []
    if federation is not None:
        federation.dial_all(host)
        running.append(_Dialling(federation))
    try:
        for started in (
            await start_tak_links(host),
            await start_imagery(host),
            await start_feeds(host),
        ):
            if started is not None:
                running.append(started)
    except BaseException:
        for service in running:
            await service.stop()
        raise
    return running


def _fenced(host: LinksHost, valid: Callable[[], bool]) -> LinksHost:
    """``host`` as it is (the same boards, pictures, security...), but appending to its
    journal only while ``valid()``."""
    view = copy.copy(host)
    view.journal = FencedJournal(host.journal, valid)
    return view


def _show_standby(host: LinksHost, federation: Federation | None) -> None:
    """Every service this gateway would run, shown as on standby (``/health``, status)."""
    settings = host.settings
    for feed in settings.feeds:
        host.feeds.feeds[feed.name] = status = FeedStatus(feed)
        status.state = "standby"
    for server in settings.tak_servers:
        host.tak_servers.links[server.name] = tak = TakLinkStatus(server)
        tak.state = "standby"
    for source in settings.imagery:
        host.imagery.sources[source.name] = imagery = ImageryStatus(source)
        imagery.state = "standby"
    if federation is not None:
        for link in settings.federation:
            if link.peer is not None:
                host.federation.links[link.name] = fed = LinkStatus(link)
                fed.state = "standby"


class Links:
    """The running links of this process, directly or under the lease."""

    def __init__(
        self,
        federation: Federation | None,
        running: Sequence[Stoppable] = (),
        duty: asyncio.Task[None] | None = None,
    ) -> None:
        self.federation = federation
        self._running = list(running)
        self._duty = duty

    async def stop(self) -> None:
        if self._duty is not None:
            self._duty.cancel()
            await asyncio.wait({self._duty}, timeout=STOP_WAIT_S)
            if self._duty.done() and not self._duty.cancelled():
                self._duty.exception()  # logged where it was raised
        for service in self._running:
            await service.stop()
        if self.federation is not None:
            await self.federation.stop()


async def start_links(
    host: LinksHost,
    bind: Callable[[str, int], socket.socket],
    announce: Callable[[str, socket.socket], str],
) -> Links:
    """Start federation's listener, and the links: at once, or on a gateway under the
    links lease (in a task that holds it while it can and stands by otherwise)."""
    if not leased(host):
        federation = await start_federation(host, bind, announce)
        return Links(federation, await _start_outbound(host, None))
    federation = await start_federation(host, bind, announce, dial=False)
    status = LinksLeaseStatus(f"{socket.gethostname()}:{os.getpid()}")
    host.feeds.lease = host.tak_servers.lease = host.imagery.lease = status
    host.federation.lease = status

    async def start(valid: Callable[[], bool]) -> Sequence[Stoppable]:
        return await _start_outbound(_fenced(host, valid), federation)

    duty = LinksDuty(
        host.settings, status, start, on_standby=lambda: _show_standby(host, federation)
    )
    return Links(federation, duty=asyncio.create_task(duty.run(), name="links-lease"))

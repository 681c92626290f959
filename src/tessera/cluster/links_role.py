"""The links lease: of the gateways of a scale-out deployment, exactly one at a time runs
the services that reach out or take reports in (sensor feeds, imagery sources,
federation, TAK server links), so a feed is read once and a peer sees one node.

It is the fusion lease's mechanism (``cluster.lease``: a key in the same JetStream
bucket, created by whoever takes it, renewed on its revision, expiring when its holder
dies) under one more key. Every gateway runs a ``LinksDuty``: a standby tries for the key
now and then; the holder starts the services and stops them as soon as the key is lost
(or its clock says a successor may hold it), then stands by again. The services append to
the journal through a ``FencedJournal`` that refuses once the lease is not certainly
this gateway's, so a holder paused past the lease's time to live writes nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from tessera.cluster.lease import FusionLease, LeaseLostError
from tessera.cluster.links_status import LinksLeaseStatus

if TYPE_CHECKING:
    from tessera.settings import Settings

log = logging.getLogger(__name__)

LINKS_KEY: Final = "gateway.links"
# How often the holder looks at its lease's clock between renewals (per TTL).
CHECKS_PER_TTL: Final = 10


class Stoppable(Protocol):
    async def stop(self) -> None: ...


# Starts the services, writing under ``valid`` (the lease's clock check); what to stop.
StartLinks = Callable[[Callable[[], bool]], Awaitable[Sequence[Stoppable]]]


class LinksDuty:
    def __init__(
        self,
        settings: Settings,
        status: LinksLeaseStatus,
        start: StartLinks,
        *,
        on_standby: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self.status = status
        self._start = start
        self._on_standby = on_standby

    async def run(self) -> None:
        """Until cancelled: stand by, hold the lease and run the services, stand by."""
        settings = self._settings
        lease = FusionLease(
            settings.nats_servers,
            bucket=settings.lease_bucket,
            ttl=settings.lease_ttl_s,
            holder=self.status.holder,
            keys=[LINKS_KEY],
            replicas=settings.journal_replicas,
        )
        await lease.open()
        try:
            while True:
                self.status.standby(await lease.holder_of(LINKS_KEY))
                self._on_standby()
                if not await lease.acquire(timeout=settings.lease_ttl_s):
                    continue
                try:
                    await self._serve(lease)
                except Exception:
                    # A service that cannot start (a missing principal...): stand by, so
                    # another gateway may try, and try again later.
                    log.exception("links: could not run them here")
                    await lease.release()
                    await asyncio.sleep(settings.lease_ttl_s)
                finally:
                    # Taken afresh (a new epoch) next time round.
                    await lease.release()
        finally:
            await lease.close()

    async def _serve(self, lease: FusionLease) -> None:
        self.status.active()
        print(f"links active {self.status.holder}", flush=True)
        running: Sequence[Stoppable] = ()
        try:
            running = await self._start(lease.valid)
            await _held(lease, self._settings.lease_ttl_s / CHECKS_PER_TTL)
        except LeaseLostError as exc:
            log.warning("links: %s: stopping them here", exc)
            print(f"links standby {self.status.holder}: {exc}", flush=True)
        finally:
            for service in running:
                try:
                    await service.stop()
                except Exception:
                    log.exception("links: a service did not stop cleanly")


async def _held(lease: FusionLease, check_s: float) -> None:
    """Until the lease is lost (LeaseLostError): woken by the lease thread, or sooner by
    its clock (a process that was paused past the TTL knows at once)."""
    while True:
        if not lease.valid():
            raise LeaseLostError("the links lease has passed (or may have) to another gateway")
        try:
            async with asyncio.timeout(check_s):
                await lease.hold()
        except TimeoutError:
            continue

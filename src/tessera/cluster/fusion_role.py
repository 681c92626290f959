"""``tessera serve --role fusion``: wait as a standby until the fusion lease of each of
its pictures (``fusion_pictures``, or all) is ours, then rebuild those pictures from the
journal (on top of what the store holds) and follow it, writing them to PostGIS and their
changes to the NATS change feed.

The lease is taken before anything is built: a standby holds no connection to the journal
or the store and marks no time. Taking over, the worker first raises its fence rows in
PostGIS to its lease epochs, then marks the change feed with them (DESIGN §10). Losing the
lease, or any write finding a newer epoch, stops this process at once (exit status 3)
without writing, acknowledging or publishing anything more: a supervisor restarts it, as
a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import sys
from collections.abc import Coroutine
from typing import Any

import msgspec

from tessera.app import Tessera, build
from tessera.cluster.fence import ARCHIVE_FENCE, Fence, FencedError
from tessera.cluster.lease import ARCHIVE_KEY, FusionLease, LeaseLostError, lease_key, picture_keys
from tessera.postgis.fencing import raise_fence, worker_dsn
from tessera.server import tune_collector
from tessera.settings import Settings

LEASE_LOST_EXIT = 3
CANCEL_WAIT_S = 5.0


def _lease(settings: Settings, holder: str, keys: list[str]) -> FusionLease:
    return FusionLease(
        settings.nats_servers,
        bucket=settings.lease_bucket,
        ttl=settings.lease_ttl_s,
        holder=holder,
        keys=keys,
        replicas=settings.journal_replicas,
    )


async def _raised(settings: Settings, lease: FusionLease, names: dict[str, str]) -> Fence:
    """The fence of the keys just taken (fence name: lease key), its rows raised in
    PostGIS before anything is read there; FencedError if a newer epoch holds one."""
    fence = Fence({name: lease.epochs[key] for name, key in names.items()}, lease.valid)
    assert settings.postgis_dsn is not None
    dsn = worker_dsn(settings.postgis_dsn, settings.lease_ttl_s)
    # Waits for a stopped predecessor's open transaction: its session ends within half
    # a lease, so a whole lease is enough.
    await raise_fence(dsn, fence, lock_timeout_s=settings.lease_ttl_s)
    return fence


async def run_fusion(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    fused = settings.fused_pictures
    names = ", ".join(picture.name for picture in fused)
    lease = _lease(settings, holder, picture_keys([picture.name for picture in fused]))
    await lease.open()
    try:
        print(f"fusion standby {holder} for {names}", flush=True)
        if not await _first(lease.acquire(), stop.wait()):
            return 0
        print(f"fusion active {holder} for {names}", flush=True)
        try:
            fence = await _raised(settings, lease, {p.name: lease_key(p.name) for p in fused})
        except FencedError as exc:
            print(f"tessera: {exc}: stopping", file=sys.stderr, flush=True)
            return LEASE_LOST_EXIT
        # This process holds, builds and fuses its own pictures only.
        tessera = build(msgspec.structs.replace(settings, pictures=fused, fusion_pictures=()))
        tessera.fence_writes(fence)
        holding = asyncio.create_task(_held(lease, fence), name="fusion-lease")
        # As a server does: fewer collections while rebuilding, none of what it built.
        tune_collector()
        archiving: asyncio.Task[None] | None = None
        try:
            await tessera.start()
            checkpointer = tessera.checkpointer
            if checkpointer is not None and checkpointer.restored_from is not None:
                print(
                    f"fusion resumed at journal entry {checkpointer.restored_from}"
                    f" (journal cursor at {checkpointer.cursor_at})",
                    flush=True,
                )
            gc.freeze()
            print("fusion caught up", flush=True)
            archiving = asyncio.create_task(_archive_duty(tessera, holder), name="archive-duty")
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({holding, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if holding.done():
                holding.result()  # raises LeaseLostError or FencedError
        except (LeaseLostError, FencedError) as exc:
            # Replaced: nothing more is written, acknowledged or published.
            fence.depose(str(exc))
            print(f"tessera: {exc}: stopping", file=sys.stderr, flush=True)
            return LEASE_LOST_EXIT
        finally:
            holding.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLostError, FencedError):
                await holding
            # The archive is drained while its lease is still held, then handed over
            # (by a worker still in charge only).
            await tessera.stop()
            if archiving is not None:
                archiving.cancel()
                await asyncio.wait({archiving}, timeout=CANCEL_WAIT_S)
        return 0
    finally:
        await lease.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _held(lease: FusionLease, fence: Fence) -> None:
    """Until the lease is lost (LeaseLostError) or a write found a newer epoch
    (FencedError)."""
    lost = asyncio.create_task(lease.hold())
    deposed = asyncio.create_task(fence.deposed.wait())
    try:
        await asyncio.wait({lost, deposed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lost.cancel()
        deposed.cancel()
    if lost.done() and not lost.cancelled():
        lost.result()
    raise FencedError(fence.reason)


async def _archive_duty(tessera: Tessera, holder: str) -> None:
    """Archive the journal's reports while this worker holds the archive's lease (one
    active fusion worker at a time does it), under its fence; try for it again when it
    is lost."""
    settings = tessera.settings
    archive = tessera.archive
    if archive is None:
        return
    lease = _lease(settings, holder, [ARCHIVE_KEY])
    await lease.open()
    try:
        while True:
            if not await lease.acquire(timeout=settings.lease_ttl_s):
                continue
            try:
                fence = await _raised(settings, lease, {ARCHIVE_FENCE: ARCHIVE_KEY})
            except FencedError as exc:
                print(f"report archive: {exc}: not archiving", file=sys.stderr, flush=True)
                return
            archive.fence = fence
            print(f"report archive active {holder}", flush=True)
            await tessera.start_archive()
            try:
                await _held(lease, fence)
            except (LeaseLostError, FencedError) as exc:
                fence.depose(str(exc))
                print(f"report archive: {exc}", file=sys.stderr, flush=True)
            finally:
                await tessera.stop_archive()
                # Taken afresh (a new epoch) next time round.
                await lease.release()
    finally:
        await lease.close()


async def _first(acquire: Coroutine[Any, Any, bool], stopped: Coroutine[Any, Any, bool]) -> bool:
    """Whether the lease came before the stop."""
    got = asyncio.create_task(acquire)
    ended = asyncio.create_task(stopped)
    await asyncio.wait({got, ended}, return_when=asyncio.FIRST_COMPLETED)
    ended.cancel()
    if got.done():
        return got.result()
    got.cancel()
    # Bounded: Python 3.11's wait_for (inside the NATS client) can swallow a
    # cancellation; whatever the attempt took meanwhile is handed back on close.
    await asyncio.wait({got}, timeout=CANCEL_WAIT_S)
    return False

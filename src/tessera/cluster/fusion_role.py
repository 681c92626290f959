"""``tessera serve --role fusion``: wait as a standby until the fusion lease of each of
its pictures (``fusion_pictures``, or all) is ours, then rebuild those pictures from the
journal (on top of what the store holds) and follow it, writing them to PostGIS and their
changes to the NATS change feed.

The lease is taken before anything is built: a standby holds no connection to the journal
or the store and marks no time. Losing the lease stops this process at once (exit status
3): a supervisor restarts it, as a standby.
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
from tessera.cluster.lease import ARCHIVE_KEY, FusionLease, LeaseLostError, picture_keys
from tessera.server import tune_collector
from tessera.settings import Settings

LEASE_LOST_EXIT = 3
CANCEL_WAIT_S = 5.0


async def run_fusion(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    fused = settings.fused_pictures
    names = ", ".join(picture.name for picture in fused)
    lease = FusionLease(
        settings.nats_servers,
        bucket=settings.lease_bucket,
        ttl=settings.lease_ttl_s,
        holder=holder,
        keys=picture_keys([picture.name for picture in fused]),
        replicas=settings.journal_replicas,
    )
    await lease.open()
    try:
        print(f"fusion standby {holder} for {names}", flush=True)
        if not await _first(lease.acquire(), stop.wait()):
            return 0
        print(f"fusion active {holder} for {names}", flush=True)
        # This process holds, builds and fuses its own pictures only.
        tessera = build(msgspec.structs.replace(settings, pictures=fused, fusion_pictures=()))
        holding = asyncio.create_task(lease.hold(), name="fusion-lease")
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
                holding.result()  # raises LeaseLostError
        except LeaseLostError as exc:
            print(f"tessera: {exc}: stopping", file=sys.stderr, flush=True)
            return LEASE_LOST_EXIT
        finally:
            holding.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLostError):
                await holding
            # The archive is drained while its lease is still held, then handed over.
            await tessera.stop()
            if archiving is not None:
                archiving.cancel()
                await asyncio.wait({archiving}, timeout=CANCEL_WAIT_S)
        return 0
    finally:
        await lease.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _archive_duty(tessera: Tessera, holder: str) -> None:
    """Archive the journal's reports while this worker holds the archive's lease (one
    active fusion worker at a time does it); try for it again when it is lost."""
    settings = tessera.settings
    lease = FusionLease(
        settings.nats_servers,
        bucket=settings.lease_bucket,
        ttl=settings.lease_ttl_s,
        holder=holder,
        keys=[ARCHIVE_KEY],
        replicas=settings.journal_replicas,
    )
    await lease.open()
    try:
        while True:
            if not await lease.acquire(timeout=settings.lease_ttl_s):
                continue
            print(f"report archive active {holder}", flush=True)
            await tessera.start_archive()
            try:
                await lease.hold()
            except LeaseLostError as exc:
                print(f"report archive: {exc}", file=sys.stderr, flush=True)
            finally:
                await tessera.stop_archive()
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

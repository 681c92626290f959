"""One running Tessera: its parts, and starting and stopping them in order (``app.build``
wires one; nothing but the entry points, which start a built one, imports this)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from starlette.applications import Starlette

from tessera.alerting.wiring import alert_service
from tessera.bus.base import ChangeBus
from tessera.chat.wiring import chat_service
from tessera.codecs.json import ReportCodec
from tessera.codecs.overlay_json import OverlayCodec
from tessera.core.labels import Picture
from tessera.core.model import Principal
from tessera.federation.status import FederationBoard
from tessera.fusion_worker import FusionWorker
from tessera.journal.base import Journal
from tessera.relay.base import CotRelay
from tessera.relay.memory import LocalRelay
from tessera.replica import PictureReplica
from tessera.security.audit import AuditTrail
from tessera.security.base import SecurityStore
from tessera.security.gate import Gate
from tessera.security.limits import FailureLimiter, RequestLimiter
from tessera.security.scoping import ID_KEY_NAME, IdScope, Submitter
from tessera.security.sources import SourceRegistry
from tessera.settings import Settings
from tessera.space.catalog import SatelliteCatalog
from tessera.store.base import TrackStore
from tessera.tiles.catalog import Basemaps
from tessera.transports.feeds.base import FeedBoard
from tessera.transports.imagery.status import ImageryBoard
from tessera.transports.tak_client.status import TakServerBoard
from tessera.transports.web.routes import build_asgi
from tessera.trimming import JournalTrimmer

if TYPE_CHECKING:
    from tessera.checkpointing import Checkpointer
    from tessera.cluster.fence import Fence
    from tessera.history.service import HistoryService
    from tessera.store.report_archive import PostgisReportArchive
    from tessera.store.retention import ArchivedReportKeys

Clock = Callable[[], datetime]
# How long stopping waits for a database-backed store to write what it has queued (the
# journal still holds anything left: it is replayed on the next start).
STORE_CLOSE_TIMEOUT_S = 30.0
ARCHIVE_DRAIN_TIMEOUT_S = 10.0
# Stopping a task: cancelled this many times at most, each followed by this long a wait.
CANCEL_ATTEMPTS = 10
CANCEL_WAIT_S = 1.0
# Its messages are the composition root's (``tessera.app``), the name logging setups use.
log = logging.getLogger("tessera.app")


def new_report_id() -> str:
    return uuid.uuid4().hex


class Tessera:
    """One running Tessera: its parts, and starting and stopping them in order."""

    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        journal: Journal,
        store: TrackStore,
        bus: ChangeBus,
        worker: FusionWorker,
        codec: ReportCodec,
        security: SecurityStore,
        cot_relay: CotRelay | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.journal = journal
        self.store = store
        self.bus = bus
        self.worker = worker
        self.codec = codec
        self.overlay_codec = OverlayCodec(settings.scheme)
        self.security = security
        # What TAK clients share, to and from the other gateways (opened by the CoT server).
        self.cot_relay = cot_relay or LocalRelay()
        self.audit = AuditTrail(security)
        # Who may report as which source ids: the settings' grants and the store's.
        self.sources = SourceRegistry(security, settings.source_grants())
        # Ids scoped to their submitter, under the deployment's secret (read at start).
        self._ids: IdScope | None = None
        self.gate = Gate(
            store=security,
            audit=self.audit,
            clock=clock,
            failures=FailureLimiter(settings.auth_failures_allowed, settings.auth_failure_window_s),
            requests=RequestLimiter(settings.requests_per_second, settings.request_burst),
        )
        self.scheme = settings.scheme
        self.pictures: dict[str, Picture] = {picture.name: picture for picture in settings.pictures}
        self.new_report_id: Callable[[], str] = new_report_id
        self.role = settings.role
        # Saves the fusion state now and then (a fusion worker writing to PostGIS).
        self.checkpointer: Checkpointer | None = None
        # Writes every journal report to PostGIS (run here in one process; by the holder of
        # the archive's lease in a scale-out deployment).
        self.archive: PostgisReportArchive | None = None
        self._archive_task: asyncio.Task[None] | None = None
        # Trims the journal after each saved checkpoint (None: it keeps everything). The
        # embedded checkpoints call ``trimmer.after_checkpoint(position)`` once saved.
        self.trimmer: JournalTrimmer | None = None
        # The report archive asked by the JetStream journal about ids past its claims.
        self.archived_keys: ArchivedReportKeys | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        # The lease epochs a fusion worker writes under (``fence_writes``).
        self._fence: Fence | None = None
        # The operator's basemaps, opened (and checked) now: a bad file stops the start.
        self.basemaps = Basemaps.open(settings.basemaps)
        # The satellites ([[satellites]]): files read now (a bad one stops the start),
        # URLs refreshed once started; pass warnings watch those each picture admits.
        self.satellites = SatelliteCatalog(settings.satellites, clock=clock)
        self.satellites.load_files()
        # Alert rules over the pictures' change feeds (not run by a fusion-only worker).
        self.alerts = alert_service(settings, clock, store, bus, self.satellites)
        # The pictures' chat rooms, shared with TAK clients (chat/).
        self.chat = chat_service(settings, clock)
        # The pictures' past: seeks, and snapshots where fusion runs (history/).
        self.history: HistoryService | None = None
        # The sensor feeds' status (the server starts the feeds: transports.feeds).
        self.feeds = FeedBoard()
        # The federation links' status (the server starts them: transports.federation).
        self.federation = FederationBoard()
        # The TAK server links' status (the server starts them: transports.tak_client).
        self.tak_servers = TakServerBoard()
        # The imagery sources' status (the server starts them: transports.imagery).
        self.imagery = ImageryBoard()
        self.asgi: Starlette = _web_app(self)

    def fence_writes(self, fence: Fence) -> None:
        """Every write of this fusion worker from now on carries ``fence``'s epochs (set
        after its fence rows are raised, before ``start``): the track store's, the
        checkpoints', the change feed's (DESIGN §10)."""
        from tessera.bus.nats import NatsBus
        from tessera.store.postgis import PostgisTrackStore

        self._fence = fence
        if isinstance(self.store, PostgisTrackStore):
            self.store.fence = fence
        if self.checkpointer is not None:
            self.checkpointer.fence_writes(fence)
        if isinstance(self.bus, NatsBus):
            self.bus.fence = fence

    @property
    def deposed(self) -> bool:
        """Whether another fusion worker has taken over from this one."""
        return self._fence is not None and self._fence.deposed.is_set()

    async def start(self, *, catch_up: bool = True) -> None:
        """Open the stores, restore the last fusion checkpoint, replay the journal after it
        and then follow the journal (a gateway follows the change feed instead). With
        ``catch_up``, return once the replay is done; without, at once (the replay goes on
        in the background while the restored picture is served)."""
        await self.security.open()
        self._ids = IdScope(await self.security.secret(ID_KEY_NAME))
        if not await self.security.principals():
            log.warning(
                "no principals yet: nobody can sign in until one is added "
                "(tessera users add NAME --data %s, then tessera users token NAME)",
                self.settings.data_dir,
            )
        await self.audit.start()
        self.chat.start()
        await self.journal.open()
        await self.store.open()
        if self.history is not None:
            await self.history.start()
        # After the store: a gateway's change feed goes on from the seq its copy holds.
        await self.bus.open({name: self.store.seq(name) for name in self.pictures})
        if self.archive is not None:
            await self.archive.open()
        if self.role == "gateway":
            replica = PictureReplica(self.bus, self.store, list(self.pictures))
            self._worker_task = asyncio.create_task(replica.run(), name="picture-replica")
            self.journal.start_ticks()
            await self.alerts.start()
            await self.satellites.start()
            return
        if self._fence is not None:
            for name in self.pictures:
                # Seqs go on above whatever any earlier worker published.
                floor = await self.bus.begin_epoch(name, self._fence.epoch(name))
                self.worker.continue_above(name, floor)
        if self.checkpointer is not None:
            await self.checkpointer.restore()
        self.journal.start_ticks()
        self._worker_task = asyncio.create_task(self._fuse(), name="fusion-worker")
        if self.checkpointer is not None:
            self._checkpoint_task = asyncio.create_task(
                self.checkpointer.run(), name="fusion-checkpoints"
            )
        if catch_up:
            await self.caught_up()
        if self.role == "all":
            await self.start_archive()
            await self.alerts.start()
            await self.satellites.start()

    async def _fuse(self) -> None:
        loop = asyncio.get_running_loop()
        started, first = loop.time(), self.worker.position
        log.info(
            "replaying the journal after entry %d up to entry %d, serving meanwhile",
            first,
            self.journal.last_seq,
        )
        await self.worker.catch_up(progress=_log_replay)
        log.info(
            "fusion caught up with the journal at entry %d (%d entries replayed in %.1f s)",
            self.worker.position,
            self.worker.position - first,
            loop.time() - started,
        )
        await self.worker.run()

    async def caught_up(self) -> None:
        """Wait until fusion has replayed what the journal held at start; raises what
        fusion died of, if it did."""
        task = self._worker_task
        if task is None:
            raise RuntimeError("fusion is not running")
        waiting = asyncio.ensure_future(self.worker.wait_until_caught_up())
        try:
            await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        if not self.worker.caught_up:
            await task  # raises what it died of
            raise RuntimeError("fusion stopped before it caught up")

    @property
    def archiving(self) -> bool:
        """Whether this process writes the report archive (it then trims the journal)."""
        return self._archive_task is not None

    @property
    def ids(self) -> IdScope:
        if self._ids is None:
            raise RuntimeError("Tessera is not started")
        return self._ids

    async def submitter(self, principal: Principal, own_uid: str | None = None) -> Submitter:
        """``principal`` writing: the sources it owns (and ``own_uid``, a TAK client's
        own), and its ids scoped to it."""
        ownership = await self.sources.ownership(principal.name)
        return Submitter(principal.name, ownership.with_id(own_uid), self.ids)

    async def start_archive(self) -> None:
        """Archive the journal's reports from where the archive stands (if there is one)."""
        if self.archive is None or self._archive_task is not None:
            return
        await self.archive.reload()
        self._archive_task = asyncio.create_task(self.archive.run(), name="report-archive")

    async def stop_archive(self, *, drain: bool = False) -> None:
        """Stop archiving; with ``drain``, first archive what the journal holds now
        (waiting ``ARCHIVE_DRAIN_TIMEOUT_S`` at most: the next archiver goes on anyway)."""
        task, self._archive_task = self._archive_task, None
        if task is None:
            return
        if drain and self.archive is not None and not task.done():
            await self.archive.wait_for(self.journal.last_seq, ARCHIVE_DRAIN_TIMEOUT_S)
        await _ended(task)

    async def stop(self) -> None:
        # A deposed worker writes nothing more: no drain, no last checkpoint, no flush
        # (its store and bus refuse by themselves).
        deposed = self.deposed
        await self.alerts.stop()
        await self.satellites.stop()
        await self.stop_archive(drain=not deposed)
        for task in (self._checkpoint_task, self._worker_task):
            if task is not None:
                await _ended(task)
        if self.checkpointer is not None and self._worker_task is not None and not deposed:
            # The next worker then starts where this one stopped.
            try:
                await self.checkpointer.save(final=True)
            except Exception:
                log.exception("the last fusion checkpoint could not be saved")
        await self.store.close(timeout=STORE_CLOSE_TIMEOUT_S)
        if self.archive is not None:
            await self.archive.close()
        await self.bus.close()
        if self.history is not None:
            await self.history.stop()
        await self.journal.close()
        if self.archived_keys is not None:
            await self.archived_keys.close()
        self.chat.stop()
        await self.audit.stop()
        await self.security.close()
        self.basemaps.close()


async def _ended(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it; stopping goes on whatever it died of (logged)."""
    for _ in range(CANCEL_ATTEMPTS):
        if task.done():
            break
        # Again if need be: Python 3.11's wait_for swallows a cancellation that comes as
        # what it waits for completes, and the task then carries on.
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_WAIT_S)
    if not task.done():
        log.error("%s did not stop", task.get_name())
        return
    try:
        task.result()
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("%s ended with an error", task.get_name())


def _log_replay(done: int, total: int) -> None:
    log.info("replaying the journal into the pictures: entry %d of %d", done, total)


def _web_app(tessera: Tessera) -> Starlette:
    return build_asgi(tessera)

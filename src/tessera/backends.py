"""Which implementation of each part a Tessera gets from its settings (called by
``app.build``): the embedded default's (SQLite, memory) or the scale-out ones (JetStream,
NATS, PostGIS), imported only when chosen, so the embedded default never loads their
drivers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from tessera.bus.base import ChangeBus
from tessera.bus.memory import MemoryBus
from tessera.checkpoint_choice import writer_dsn
from tessera.journal.base import Journal, Retention, StoredKeys
from tessera.journal.sqlite import SqliteJournal
from tessera.relay.base import CotRelay
from tessera.relay.memory import LocalRelay
from tessera.security.base import SecurityStore
from tessera.security.sqlite import SqliteSecurityStore, security_store_path
from tessera.settings import Settings
from tessera.store.base import TrackStore
from tessera.store.memory import MemoryTrackStore

if TYPE_CHECKING:
    from tessera.store.retention import ArchivedReportKeys

Clock = Callable[[], datetime]


def retention_of(settings: Settings) -> Retention:
    return Retention(
        max_age_s=settings.journal_max_age_s,
        max_bytes=settings.journal_max_bytes,
        dedup_window_s=settings.dedup_window,
    )


def journal_for(settings: Settings, clock: Clock, stored_keys: StoredKeys | None) -> Journal:
    if settings.journal_backend == "sqlite":
        return SqliteJournal(
            settings.data_dir / "journal.sqlite3",
            clock=clock,
            tick_interval=settings.tick_interval_s,
            retention=retention_of(settings),
            # Until fusion has restored its checkpoints (Tessera.start).
            hold_ticks=True,
        )
    # Imported here: the embedded default never loads the NATS client.
    from tessera.journal.jetstream import JetStreamJournal
    from tessera.journal.jetstream_cursor import consumer_name

    # A process that fuses and saves checkpoints keeps its place in a durable consumer.
    checkpoints = settings.postgis_dsn is not None and settings.role != "gateway"
    names = [picture.name for picture in settings.pictures]

    return JetStreamJournal(
        settings.nats_servers,
        clock=clock,
        stream=settings.journal_stream,
        prefix=settings.journal_prefix,
        # One process marks time for the whole deployment: the one that fuses.
        ticks=settings.role != "gateway",
        tick_interval=settings.tick_interval_s,
        # A gateway never reads the journal's tail; a worker follows it from memory.
        recent_window=0 if settings.role == "gateway" else 20_000,
        replicas=settings.journal_replicas,
        cursor=consumer_name(names) if checkpoints else None,
        # Acknowledged at each checkpoint: never redelivered while one is due.
        cursor_ack_wait=max(3_600.0, 10 * settings.checkpoint_interval_s),
        retention=retention_of(settings),
        stored_keys=stored_keys,
    )


def bus_for(settings: Settings, names: list[str]) -> ChangeBus:
    if settings.bus_backend == "memory":
        return MemoryBus(names, retained=settings.retained_changes)
    from tessera.bus.nats import NatsBus

    return NatsBus(
        settings.nats_servers,
        names,
        retained=settings.retained_changes,
        stream=settings.changes_stream,
        prefix=settings.changes_prefix,
        replicas=settings.changes_replicas,
        # Nothing subscribes in a fusion worker: it only publishes.
        follow=settings.role != "fusion",
    )


def cot_relay_for(settings: Settings) -> CotRelay:
    # An id of this process's own: each gateway ignores the messages that carry it.
    origin = uuid.uuid4().hex
    if settings.bus_backend != "nats":
        return LocalRelay(origin)
    from tessera.relay.nats import NatsRelay

    return NatsRelay(settings.nats_servers, origin=origin, prefix=settings.cot_share_prefix)


def track_store_for(settings: Settings, names: list[str]) -> TrackStore:
    if settings.postgis_dsn is None:
        return MemoryTrackStore(names)
    from tessera.store.postgis import PostgisTrackStore

    # The process that fuses writes the pictures; a gateway only reads them.
    gateway = settings.role == "gateway"
    return PostgisTrackStore(
        writer_dsn(settings), names, writer=not gateway, lineage_in_memory=not gateway
    )


def security_store_for(settings: Settings) -> SecurityStore:
    if settings.postgis_dsn is None:
        return SqliteSecurityStore(security_store_path(settings.data_dir))
    # Imported here: the embedded default never loads the PostgreSQL driver.
    from tessera.security.postgis import PostgisSecurityStore

    return PostgisSecurityStore(settings.postgis_dsn)


def archived_keys_for(settings: Settings) -> ArchivedReportKeys | None:
    """The report archive, asked by a JetStream journal whose claims expire."""
    if settings.journal_backend != "jetstream" or settings.dedup_window is None:
        return None
    from tessera.store.retention import ArchivedReportKeys

    assert settings.postgis_dsn is not None  # validated: retention on JetStream needs it
    return ArchivedReportKeys(settings.postgis_dsn)

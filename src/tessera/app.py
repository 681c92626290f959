"""The composition root: ``build(settings)`` wires everything; nothing else holds state.
What it builds, one running Tessera, is ``lifecycle.Tessera``."""

from __future__ import annotations

from datetime import UTC, datetime

from tessera.backends import (
    archived_keys_for,
    bus_for,
    cot_relay_for,
    journal_for,
    security_store_for,
    track_store_for,
)
from tessera.checkpoint_choice import embedded_checkpointer, postgis_checkpointer, writer_dsn
from tessera.codecs.json import ReportCodec, ReportPolicy
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.fusion_worker import FusionWorker
from tessera.lifecycle import Clock, Tessera
from tessera.settings import Settings
from tessera.trimming import journal_trimmer

__all__ = ["Clock", "Tessera", "build", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def build(settings: Settings, *, clock: Clock = utc_now) -> Tessera:
    settings.validate()
    scheme = settings.scheme
    names = [picture.name for picture in settings.pictures]
    archived_keys = archived_keys_for(settings)
    journal = journal_for(settings, clock, archived_keys)
    store = track_store_for(settings, names)
    bus = bus_for(settings, names)
    fusion_settings = FusionSettings(
        lineage_window=settings.lineage_window,
        batch_seconds=settings.fusion_batch_s,
        order_of_battle=dict(settings.order_of_battle),
    )
    worker = FusionWorker(
        journal=journal,
        store=store,
        bus=bus,
        pictures=settings.pictures,
        scheme=scheme,
        tracker_factory=lambda _picture: KalmanTracker(scheme, fusion_settings),
    )
    codec = ReportCodec(
        ReportPolicy(
            levels=settings.levels,
            default_label=settings.default_label,
            source_labels=dict(settings.source_labels),
            max_future_skew=settings.max_future_skew,
            max_items=settings.max_batch_items,
        )
    )
    tessera = Tessera(
        settings=settings,
        clock=clock,
        journal=journal,
        store=store,
        bus=bus,
        worker=worker,
        codec=codec,
        security=security_store_for(settings),
        cot_relay=cot_relay_for(settings),
    )
    tessera.archived_keys = archived_keys
    from tessera.history.service import history_for

    tessera.history = history_for(settings, tessera, fusion_settings)
    if not settings.retains_all:
        tessera.trimmer = journal_trimmer(settings, journal, lambda: tessera.archiving)
    if settings.postgis_dsn is not None and settings.role != "gateway":
        tessera.checkpointer = postgis_checkpointer(settings, tessera, fusion_settings)
        from tessera.store.report_archive import PostgisReportArchive

        tessera.archive = PostgisReportArchive(writer_dsn(settings), journal)
    elif settings.postgis_dsn is None and settings.role == "all":
        tessera.checkpointer = embedded_checkpointer(settings, tessera, fusion_settings)
    return tessera

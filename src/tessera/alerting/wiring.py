"""The alert service a Tessera runs, from its settings (``app.build`` calls this)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tessera.alerting.service import AlertService
from tessera.alerting.sqlite import SqliteAlertStore, alert_store_path
from tessera.bus.base import ChangeBus
from tessera.core.space.catalog import Satellite, visible_to
from tessera.settings import Settings
from tessera.space.catalog import SatelliteCatalog
from tessera.store.base import TrackStore


def alert_service(
    settings: Settings,
    clock: Callable[[], datetime],
    store: TrackStore,
    bus: ChangeBus,
    satellites: SatelliteCatalog | None = None,
) -> AlertService:
    pictures = {picture.name: picture for picture in settings.pictures}

    def admitted(name: str) -> list[Satellite]:
        assert satellites is not None
        return visible_to(pictures[name], satellites.satellites(), settings.scheme)

    return AlertService(
        settings=settings.alerts,
        pictures=[picture.name for picture in settings.pictures],
        scheme=settings.scheme,
        store=SqliteAlertStore(alert_store_path(settings.data_dir)),
        bus=bus,
        tracks=store,
        clock=clock,
        satellites=None if satellites is None else admitted,
    )

"""What the web routes need of a running Tessera: a small protocol, so that the routes
depend on it rather than on the composition root that builds them (``app.py`` imports the
routes; the routes never import ``app.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from tessera.alerting.service import AlertService
from tessera.bus.base import ChangeBus
from tessera.chat.service import ChatService
from tessera.codecs.json import ReportCodec
from tessera.codecs.overlay_json import OverlayCodec
from tessera.core.labels import ClassificationScheme, Picture
from tessera.core.model import Principal
from tessera.federation.status import FederationBoard
from tessera.fusion_worker import FusionWorker
from tessera.journal.base import Journal
from tessera.security.audit import AuditTrail
from tessera.security.base import SecurityStore
from tessera.security.gate import Gate
from tessera.security.scoping import IdScope, Submitter
from tessera.settings import Settings
from tessera.space.catalog import SatelliteCatalog
from tessera.store.base import TrackStore
from tessera.tiles.catalog import Basemaps
from tessera.transports.feeds.base import FeedBoard
from tessera.transports.imagery.status import ImageryBoard
from tessera.transports.tak_client.status import TakServerBoard

if TYPE_CHECKING:
    from tessera.checkpointing import Checkpointer
    from tessera.history.service import HistoryService


class Served(Protocol):
    settings: Settings
    clock: Callable[[], datetime]
    journal: Journal
    store: TrackStore
    bus: ChangeBus
    worker: FusionWorker
    codec: ReportCodec
    overlay_codec: OverlayCodec
    security: SecurityStore
    audit: AuditTrail
    gate: Gate
    scheme: ClassificationScheme
    pictures: dict[str, Picture]
    new_report_id: Callable[[], str]
    role: Literal["all", "gateway", "fusion"]
    checkpointer: Checkpointer | None
    basemaps: Basemaps
    alerts: AlertService
    chat: ChatService
    history: HistoryService | None
    feeds: FeedBoard
    federation: FederationBoard
    satellites: SatelliteCatalog
    tak_servers: TakServerBoard
    imagery: ImageryBoard

    @property
    def ids(self) -> IdScope: ...

    async def submitter(self, principal: Principal, own_uid: str | None = None) -> Submitter: ...

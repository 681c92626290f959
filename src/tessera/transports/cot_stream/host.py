"""What the CoT server needs of a running Tessera: a small protocol (``app.Tessera`` is
one), so that the server depends on it rather than on the composition root."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tessera.alerting.service import AlertService
    from tessera.bus.base import ChangeBus
    from tessera.chat.service import ChatService
    from tessera.core.labels import ClassificationScheme, Picture
    from tessera.core.model import Principal
    from tessera.journal.base import Journal
    from tessera.relay.base import CotRelay
    from tessera.security.audit import AuditTrail
    from tessera.security.base import SecurityStore
    from tessera.security.scoping import IdScope, Submitter
    from tessera.security.sources import SourceRegistry
    from tessera.settings import Settings
    from tessera.store.base import TrackStore


class CotHost(Protocol):
    """What the CoT server, its sessions and listeners use."""

    settings: Settings
    clock: Callable[[], datetime]
    scheme: ClassificationScheme
    pictures: dict[str, Picture]
    new_report_id: Callable[[], str]
    journal: Journal
    store: TrackStore
    bus: ChangeBus
    security: SecurityStore
    audit: AuditTrail
    sources: SourceRegistry
    chat: ChatService
    alerts: AlertService
    cot_relay: CotRelay

    @property
    def ids(self) -> IdScope: ...

    async def submitter(self, principal: Principal, own_uid: str | None = None) -> Submitter: ...

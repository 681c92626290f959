"""What every source of reports run inside the server (sensor feeds, imagery catalogues,
TAK server links) needs of a running Tessera: its settings and role, its clock, who may
do what, the labels, the journal it writes to and the ids scoped to principals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from tessera.core.labels import ClassificationScheme
    from tessera.journal.base import Journal
    from tessera.security.base import SecurityStore
    from tessera.security.scoping import IdScope
    from tessera.settings import Settings


class SourceHost(Protocol):
    """``app.Tessera`` is one."""

    settings: Settings
    role: Literal["all", "gateway", "fusion"]
    clock: Callable[[], datetime]
    security: SecurityStore
    scheme: ClassificationScheme
    journal: Journal

    @property
    def ids(self) -> IdScope: ...

"""What federation needs of a running Tessera: small protocols (``app.Tessera`` is each of
them), so that federation depends on them rather than on the composition root."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from tessera.chat.service import ChatService
    from tessera.core.labels import ClassificationScheme
    from tessera.federation.status import FederationBoard
    from tessera.journal.base import Journal
    from tessera.security.scoping import IdScope
    from tessera.settings import Settings


class Sending(Protocol):
    """What a link's sender needs."""

    settings: Settings
    journal: Journal
    clock: Callable[[], datetime]
    chat: ChatService


class Receiving(Protocol):
    """What the receiver of the partners' links needs."""

    settings: Settings
    scheme: ClassificationScheme
    clock: Callable[[], datetime]
    journal: Journal
    chat: ChatService

    @property
    def ids(self) -> IdScope: ...


class Federating(Sending, Receiving, Protocol):
    """What the federation service needs: its links' senders', its receiver's, and more."""

    role: Literal["all", "gateway", "fusion"]
    federation: FederationBoard

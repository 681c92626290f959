"""The CoT server's side of the relay between gateways (``tessera.relay``): what the
clients of other gateways share goes into this gateway's hub, and what this gateway's
clients shared is given to a gateway that joins.

What arrives is data to check, not to trust: a label whose classification this
deployment does not know, or control traffic (which is answered where it was sent,
never shared), is logged and dropped; everything else goes through the hub, where each
member gets only what its principal may read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tessera.codecs.cot_share import SharedEvent
from tessera.core.labels import ClassificationScheme
from tessera.relay.base import Item
from tessera.transports.cot_stream.hub import CommunityHub
from tessera.transports.cot_stream.wire import CONTROL_PREFIX, WireEvent

log = logging.getLogger(__name__)


class HubLink:
    """A ``tessera.relay.base.PeerLink`` into one CoT server's hub."""

    def __init__(
        self, hub: CommunityHub, scheme: ClassificationScheme, clock: Callable[[], datetime]
    ) -> None:
        self._hub = hub
        self._scheme = scheme
        self._clock = clock
        self.counts = {"received": 0, "refused": 0}

    def from_peer(self, shared: SharedEvent) -> None:
        wire = self._accept(shared)
        if wire is not None:
            self._hub.relay(wire, shared.label, sender=None, chat=shared.chat, origin=shared.origin)

    def recalled(self, shared: SharedEvent) -> None:
        wire = self._accept(shared)
        if wire is not None:
            self._hub.recall(wire, shared.label, chat=shared.chat, origin=shared.origin)

    def shared_here(self) -> list[Item]:
        return [
            Item(item.wire.event, item.label, chat)
            for item, chat in self._hub.shared_here(self._clock())
        ]

    def _accept(self, shared: SharedEvent) -> WireEvent | None:
        self.counts["received"] += 1
        reason = None
        if shared.label.classification not in self._scheme:
            reason = f"unknown classification {shared.label.classification[:64]!r}"
        elif shared.event.type.startswith(CONTROL_PREFIX):
            reason = f"control event {shared.event.type!r}"
        if reason is not None:
            self.counts["refused"] += 1
            uid = shared.event.uid[:64]
            log.warning("CoT event %s from gateway %s dropped: %s", uid, shared.origin, reason)
            return None
        return WireEvent(shared.event)

"""The CoT server's side of the relay between gateways (``tessera.relay``): what the
clients of other gateways share goes into this gateway's hub, and what this gateway's
clients shared is given to a gateway that joins.

What arrives is data to check, not to trust: a label whose classification this
deployment does not know, control traffic other than deletes (which is answered where it
was sent, never shared), or addressing that cannot be read is logged and dropped;
everything else goes through the hub, where each member gets only what its principal
may read, and of an addressed event only the members it names.

A delete is judged again here as where it was sent (``may_delete``): by the author this
hub holds for the item and the deleter's name and standing the message carries. What a
peer recalls is what it keeps, which is never an addressed event nor a delete. A GeoChat
to All Chat Rooms is also given to ``rooms`` (the chat rooms of this gateway's pictures),
as a message of this gateway's own clients is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tessera.codecs.cot_chat import addressing
from tessera.codecs.cot_model import CotError
from tessera.codecs.cot_routing import deleted_uid, is_delete
from tessera.codecs.cot_share import SharedEvent
from tessera.core.labels import ClassificationScheme
from tessera.relay.base import Item
from tessera.transports.cot_stream.hub import CommunityHub, may_delete
from tessera.transports.cot_stream.wire import CONTROL_PREFIX, WireEvent

log = logging.getLogger(__name__)


class HubLink:
    """A ``tessera.relay.base.PeerLink`` into one CoT server's hub."""

    def __init__(
        self,
        hub: CommunityHub,
        scheme: ClassificationScheme,
        clock: Callable[[], datetime],
        rooms: Callable[[SharedEvent], object] | None = None,
    ) -> None:
        self._hub = hub
        self._rooms = rooms
        self._scheme = scheme
        self._clock = clock
        self.counts = {"received": 0, "refused": 0}

    def from_peer(self, shared: SharedEvent) -> None:
        if not self._accepted(shared):
            return
        if is_delete(shared.event):
            self._delete(shared)
            return
        try:
            addressed = addressing(shared.event)
        except CotError as exc:
            self._refuse(shared, f"unreadable addressing: {exc}")
            return
        self._hub.relay(
            WireEvent(shared.event),
            shared.label,
            sender=None,
            chat=shared.chat,
            origin=shared.origin,
            author=shared.author,
            destinations=addressed,
        )
        if shared.chat and addressed is None and self._rooms is not None:
            self._rooms(shared)

    def recalled(self, shared: SharedEvent) -> None:
        if not self._accepted(shared):
            return
        try:
            private = is_delete(shared.event) or addressing(shared.event) is not None
        except CotError:
            private = True
        if private:
            self._refuse(shared, "a delete or an addressed event is never kept, nor recalled")
            return
        self._hub.recall(
            WireEvent(shared.event),
            shared.label,
            chat=shared.chat,
            origin=shared.origin,
            author=shared.author,
        )
        if shared.chat and self._rooms is not None:
            self._rooms(shared)

    def shared_here(self) -> list[Item]:
        return [
            Item(item.wire.event, item.label, chat, item.author)
            for item, chat in self._hub.shared_here(self._clock())
        ]

    def _delete(self, shared: SharedEvent) -> None:
        key = deleted_uid(shared.event)
        if key is None:
            self._refuse(shared, "a delete that names nothing")
            return
        held = self._hub.held(key)
        if not may_delete(held, shared.author, moderator=shared.moderator):
            self._refuse(shared, f"{shared.author!r} may not delete {key[:64]!r}")
            return
        label = shared.label if held is None else held.label
        self._hub.delete(WireEvent(shared.event, key), key, label, sender=None)

    def _accepted(self, shared: SharedEvent) -> bool:
        self.counts["received"] += 1
        if shared.label.classification not in self._scheme:
            self._refuse(shared, f"unknown classification {shared.label.classification[:64]!r}")
            return False
        if shared.event.type.startswith(CONTROL_PREFIX) and not is_delete(shared.event):
            self._refuse(shared, f"control event {shared.event.type!r}")
            return False
        return True

    def _refuse(self, shared: SharedEvent, reason: str) -> None:
        self.counts["refused"] += 1
        uid = shared.event.uid[:64]
        log.warning("CoT event %s from gateway %s dropped: %s", uid, shared.origin, reason)

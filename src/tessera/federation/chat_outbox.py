"""A link's store and forward of chat: where the peer stands in our chat journal, and
the next batch after it.

The peer holds every released message up to ``position`` (its ``Welcome``'s
``chat_resume``, its acknowledgements since). One chat batch is in flight at a time: the
messages after the position (at most a batch's worth), released by the link's rule,
carrying the seq of the last one read, so the position moves on once it is acknowledged.
After an outage the unacknowledged batch goes again (the peer de-duplicates by id).
"""

from __future__ import annotations

from tessera.chat.service import ChatService
from tessera.codecs.federation import ChatItem
from tessera.core.labels import ClassificationScheme, Picture
from tessera.federation.chat import released_chat
from tessera.federation.config import FederationLink


class ChatOutbox:
    def __init__(
        self, link: FederationLink, node: str, chat: ChatService, scheme: ClassificationScheme
    ) -> None:
        self._link = link
        self._node = node
        self._chat = chat
        self._scheme = scheme
        self._rule = Picture(name=f"federation/{link.name}", rule=link.release)
        self.position = 0
        self.enabled = False  # the peer takes chat (it said where it resumes)
        self._in_flight = False

    def resume(self, position: int | None) -> None:
        """A new connection: the peer holds everything up to ``position`` (None: it
        takes no chat)."""
        self.enabled = position is not None
        self.position = position or 0
        self._in_flight = False

    @property
    def pending(self) -> bool:
        """Whether a batch could go now."""
        return self.enabled and not self._in_flight and self._chat.last_seq > self.position

    def batch(self, peer: str) -> tuple[list[ChatItem], int] | None:
        """The next batch and the chat position it completes; None if none may go."""
        if not self.pending:
            return None
        messages = self._chat.read(self.position, self._link.batch_items)
        if not messages:
            return None
        self._in_flight = True
        items = released_chat(
            messages, rule=self._rule, scheme=self._scheme, node=self._node, peer=peer
        )
        return items, messages[-1].seq

    def acknowledged(self, position: int) -> None:
        self.position = max(self.position, position)
        self._in_flight = False

"""The rooms a Tessera runs: messages from the web map and from TAK clients, checked,
journaled (``ChatLog``) and published (``ChatFeed``) to whoever may read them.

A web user says something in one picture's room, with a label the picture admits and
the user may submit (its default label unless it gives one). A TAK user's message to All
Chat Rooms is said, with the label its reports get, in every room whose picture admits
that label. Both go to every reader of the room cleared for the label: web streams
(``transports.web.chat_stream``) and TAK clients (``transports.cot_stream.chat``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final

import msgspec

from tessera.chat.base import ChatLog
from tessera.chat.feed import ChatFeed
from tessera.chat.visibility import may_read_message
from tessera.codecs.cot_chat import sender_callsign
from tessera.codecs.cot_model import CotEvent, as_utc
from tessera.core.chat import MAX_CHAT_CHARS, ChatMessage, ChatVia, rooms_for, web_sender_uid
from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.model import Label, Principal
from tessera.core.text import without_control_characters
from tessera.security.policy import may_read_picture, submission_refusal

log = logging.getLogger(__name__)
DEFAULT_HISTORY: Final = 200
MAX_HISTORY: Final = 1_000


class ChatRefusedError(ValueError):
    """A message that cannot be said: ``status`` is the HTTP status that tells why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class ChatService:
    def __init__(
        self,
        *,
        log_: ChatLog,
        pictures: Mapping[str, Picture],
        scheme: ClassificationScheme,
        clock: Callable[[], datetime],
    ) -> None:
        self._log = log_
        self._pictures = pictures
        self._scheme = scheme
        self._clock = clock
        self.feed = ChatFeed()
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def pictures(self) -> Mapping[str, Picture]:
        return self._pictures

    @property
    def last_seq(self) -> int:
        return self._log.last_seq

    def read(self, after: int, limit: int) -> list[ChatMessage]:
        """Every room's messages journaled after ``after``, in order (federation links
        follow the chat journal with this; no reader's view)."""
        return self._log.read(after, limit)

    async def wait(self, after: int, timeout: float) -> None:
        """Until a message is journaled after ``after``, or ``timeout`` seconds pass."""
        if self._log.last_seq > after:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await waiter
        finally:
            self._waiters.discard(waiter)

    def start(self) -> None:
        self._log.open()

    def stop(self) -> None:
        self._log.close()

    def readable_picture(self, principal: Principal, name: str) -> Picture | None:
        picture = self._pictures.get(name)
        if picture is None or not may_read_picture(principal, picture, self._scheme):
            return None
        return picture

    def history(self, principal: Principal, picture: str, limit: int) -> list[ChatMessage]:
        """The room's last messages ``principal`` may read, oldest first (``[]`` for a
        picture it may not read)."""
        if self.readable_picture(principal, picture) is None:
            return []
        messages = self._log.history(picture, max(1, min(limit, MAX_HISTORY)))
        return [m for m in messages if self.may_read(principal, m)]

    def may_read(self, principal: Principal, message: ChatMessage) -> bool:
        return may_read_message(principal, message, self._pictures, self._scheme)

    def post(
        self, principal: Principal, picture: str, text: str, label: Label | None
    ) -> ChatMessage:
        """A web user's message, journaled and published; ``ChatRefusedError`` if it may
        not be said."""
        room = self.readable_picture(principal, picture)
        if room is None:
            raise ChatRefusedError(404, f"no picture named {picture!r}")
        cleaned = without_control_characters(text).strip()
        if not cleaned:
            raise ChatRefusedError(400, "text: a message needs some text")
        if len(cleaned) > MAX_CHAT_CHARS:
            raise ChatRefusedError(400, f"text: longer than {MAX_CHAT_CHARS} characters")
        label = label or principal.default_label
        if label is None:
            raise ChatRefusedError(400, "label: give one (you have no default label)")
        refusal = submission_refusal(principal, label, self._scheme)
        if refusal is not None:
            raise ChatRefusedError(403, f"label: {refusal}")
        if not admits(room, label, self._scheme):
            raise ChatRefusedError(400, f"label: picture {picture!r} does not admit it")
        message = ChatMessage(
            id=uuid.uuid4().hex,
            picture=picture,
            sender=principal.name,
            sender_uid=web_sender_uid(principal.name),
            author=principal.name,
            text=cleaned,
            sent_at=self._clock(),
            label=label,
            via=ChatVia.WEB,
        )
        return self._say(message) or message

    def heard(
        self, event: CotEvent, label: Label, *, author: str, sender_uid: str
    ) -> list[ChatMessage]:
        """A TAK user's message to All Chat Rooms, said in every room whose picture
        admits ``label``; what was new."""
        text = without_control_characters(event.remarks or "").strip()[:MAX_CHAT_CHARS]
        if not text:
            log.info("GeoChat %s from %s has no text: not put in any room", event.uid, author)
            return []
        sent_at = min(as_utc(event.time), as_utc(self._clock()))
        said: list[ChatMessage] = []
        for picture in rooms_for(label, self._pictures.values(), self._scheme):
            try:
                message = ChatMessage(
                    id=event.uid,
                    picture=picture,
                    sender=sender_callsign(event)[:256],
                    sender_uid=sender_uid[:1024],
                    author=author,
                    text=text,
                    sent_at=sent_at,
                    label=label,
                    via=ChatVia.TAK,
                )
                message = msgspec.convert(msgspec.to_builtins(message), ChatMessage, strict=False)
            except msgspec.ValidationError as exc:
                log.warning("GeoChat %s from %s not put in a room: %s", event.uid, author, exc)
                return said
            new = self._say(message)
            if new is not None:
                said.append(new)
        return said

    def relayed(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        """Messages from a partner node (taken by its link: ``federation.chat``),
        journaled and published; what was new."""
        return [said for said in map(self._say, messages) if said is not None]

    def _say(self, message: ChatMessage) -> ChatMessage | None:
        journaled = self._log.append(message)
        if journaled is not None:
            self.feed.publish(journaled)
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)
        return journaled

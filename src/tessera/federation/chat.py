"""Chat across a link (no I/O: messages in, items or messages out).

Outbound, a picture's room message crosses when the link's rule admits its label, as a
report would; a message said in several rooms (a TAK user's to All Chat Rooms) crosses
once. Never sent: a message that came from the peer or has been through it. Direct
messages between TAK users are in no room, so none crosses.

Inbound, a message is refused when it has been here already (this node is its origin or
on its path) or when its label is above the link's ceiling (or no level of this node's
scheme); refusals are counted. What is taken is said in every local room whose picture
admits its label, marked ``via`` ``federation`` with the link as author and the origin
node named; its id is scoped to its origin (the same message by two ways is one message:
the rooms' de-duplication key), and so is its sender's uid (no partner can speak as one
of this node's TAK users).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from tessera.codecs.federation import MAX_PATH, ChatItem
from tessera.core.chat import ChatMessage, ChatVia, rooms_for
from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.text import without_control_characters
from tessera.security.scoping import IdScope


def sender_scope(origin: str) -> str:
    return f"federation.{origin}."


def released_chat(
    messages: Iterable[ChatMessage],
    *,
    rule: Picture,
    scheme: ClassificationScheme,
    node: str,
    peer: str,
) -> list[ChatItem]:
    """The messages this link may send, as items with their origin and path."""
    out: list[ChatItem] = []
    seen: set[tuple[str, str]] = set()
    for message in messages:
        origin = message.origin or node
        wire_id = message.origin_id or message.id
        path = message.path
        if origin == peer or peer in path or len(path) >= MAX_PATH:
            continue
        if (origin, wire_id) in seen or not admits(rule, message.label, scheme):
            continue
        seen.add((origin, wire_id))
        path = path if node in path else (*path, node)
        sender_uid = message.sender_uid.removeprefix(sender_scope(origin))
        out.append(
            ChatItem(
                wire_id,
                origin,
                path,
                message.sender,
                sender_uid,
                message.text,
                message.sent_at,
                message.label,
            )
        )
    return out


class ChatTaken(msgspec.Struct):
    messages: list[ChatMessage] = msgspec.field(default_factory=list)
    above_ceiling: int = 0
    loops: int = 0
    implausible: int = 0  # no text once control characters are taken out


def take_chat(
    items: Sequence[ChatItem],
    *,
    link: str,
    node: str,
    ceiling: int,
    scheme: ClassificationScheme,
    pictures: Iterable[Picture],
    ids: IdScope,
    now: datetime,
) -> ChatTaken:
    """``items`` as this node's rooms say them (``ceiling``: the link's, ranked). Its text
    is cleaned as a TAK user's is, its time never later than ``now``."""
    taken = ChatTaken()
    rooms = list(pictures)
    for item in items:
        if item.origin == node or node in item.path:
            taken.loops += 1
            continue
        level = item.label.classification
        if level not in scheme or scheme.rank(level) > ceiling:
            taken.above_ceiling += 1
            continue
        text = without_control_characters(item.text).strip()
        if not text:
            taken.implausible += 1
            continue
        local_id = ids.revision_id(f"federation/{item.origin}", "chat/" + item.id)
        sender_uid = (sender_scope(item.origin) + item.sender_uid)[:1024]
        for picture in rooms_for(item.label, rooms, scheme):
            taken.messages.append(
                ChatMessage(
                    id=local_id,
                    picture=picture,
                    sender=item.sender,
                    sender_uid=sender_uid,
                    author=link,
                    text=text,
                    sent_at=min(item.sent_at, now),
                    label=item.label,
                    via=ChatVia.FEDERATION,
                    origin=item.origin,
                    origin_id=item.id,
                    path=item.path,
                )
            )
    return taken

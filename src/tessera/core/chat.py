"""Chat in a picture's room: the message, and who may read it (DESIGN §3). Pure: no I/O.

Each picture has one room. A message is labelled like a report: it is said in a picture
only if the picture admits its label, and it reaches only principals who may read both
the picture and the label. A TAK user's message to All Chat Rooms is said in every room
whose picture admits its label; a TAK user's direct or group message is private to those
it names and is in no room (so it never crosses a federation link either). A message from
a partner Tessera (``via`` ``federation``) names the node it was first said on
(``origin``), its id there and the nodes it crossed (``path``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Annotated, Final

import msgspec

from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.model import Label, StoredName, Timestamp

MAX_CHAT_CHARS: Final = 4096
ChatText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CHAT_CHARS)]
MessageId = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class ChatVia(enum.StrEnum):
    WEB = "web"
    TAK = "tak"
    FEDERATION = "federation"


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One message in ``picture``'s room. ``sender``: the callsign shown (a web user's
    principal name, a TAK user's callsign); ``author``: the principal who sent it;
    ``sender_uid``: the TAK uid it came from (a web user's: ``tessera-web.NAME``).
    ``seq``: its place in the chat journal (0 until journaled). From a partner node:
    ``origin`` (the node it was first said on), ``origin_id`` (its id there) and ``path``
    (the nodes it crossed); ``author`` is then the link it came over."""

    id: MessageId
    picture: StoredName
    sender: StoredName
    sender_uid: MessageId
    author: StoredName
    text: ChatText
    sent_at: Timestamp
    label: Label
    via: ChatVia
    seq: int = 0
    origin: str | None = None
    origin_id: MessageId | None = None
    path: tuple[str, ...] = ()


def rooms_for(label: Label, pictures: Iterable[Picture], scheme: ClassificationScheme) -> list[str]:
    """The pictures whose rooms a message with ``label`` may be said in."""
    return [picture.name for picture in pictures if admits(picture, label, scheme)]


def web_sender_uid(principal_name: str) -> str:
    """The uid a web user's messages carry to TAK clients."""
    return f"tessera-web.{principal_name}"

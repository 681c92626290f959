"""Web users' chat to TAK clients: each message said on the web map (or arriving from a
partner Tessera over federation), as a GeoChat to All Chat Rooms, to every connected
client whose principal may read its room and label; and to a client that connects, those
said within ``cot_chat_replay_s`` (as the hub gives it the TAK users' recent chat). What
TAK clients say reaches the others through the hub."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from tessera.codecs.cot_chat import geochat_event
from tessera.core.chat import ChatMessage, ChatVia
from tessera.transports.cot_stream.wire import WireEvent

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer
    from tessera.transports.cot_stream.session import CotSession

# Web messages a connecting client is given, at most, per room.
REPLAYED_PER_ROOM: Final = 50
# What the hub does not carry to TAK clients itself.
RELAYED_TO_TAK: Final = frozenset({ChatVia.WEB, ChatVia.FEDERATION})


def message_text(message: ChatMessage) -> str:
    """The text TAK users see: the room it was said in, then what was said."""
    return f"[{message.picture}] {message.text}"


def message_wire(server: CotServer, message: ChatMessage) -> WireEvent:
    event = geochat_event(
        sender_uid=message.sender_uid,
        callsign=message.sender,
        message_id=message.id,
        text=message_text(message),
        lat=0.0,
        lon=0.0,
        now=message.sent_at,
        stale_s=server.settings.cot_stale_s,
    )
    return WireEvent(event)


def replay_web_chat(server: CotServer, session: CotSession, now: datetime) -> None:
    """Queue for a client that connects the web messages of its rooms said lately."""
    window = server.settings.cot_chat_replay_s
    principal = session.principal
    if window <= 0 or principal is None:
        return
    chat = server.tessera.chat
    recent: dict[str, ChatMessage] = {}
    for picture in server.tessera.pictures:
        for message in chat.history(principal, picture, REPLAYED_PER_ROOM):
            if message.via in RELAYED_TO_TAK and abs(message.sent_at - now) <= timedelta(
                seconds=window
            ):
                recent[message.id] = message
    for message in sorted(recent.values(), key=lambda m: m.sent_at):
        session.outbox.put_message(message_wire(server, message))


async def send_chat(server: CotServer) -> None:
    tessera = server.tessera
    chat = tessera.chat
    inbox = chat.feed.listen()
    try:
        while True:
            for message in await inbox.take():
                if message.via not in RELAYED_TO_TAK:
                    continue
                wire = message_wire(server, message)
                for session in server.sessions():
                    principal = session.principal
                    if principal is not None and chat.may_read(principal, message):
                        session.outbox.put_message(wire)
    finally:
        chat.feed.stop_listening(inbox)

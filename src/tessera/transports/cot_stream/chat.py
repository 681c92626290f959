"""Web users' chat to TAK clients: each message said on the web map, as a GeoChat to All
Chat Rooms, to every connected client whose principal may read its room and label.
(What TAK clients say reaches the others through the hub, as before.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.codecs.cot_chat import geochat_event
from tessera.core.chat import ChatMessage, ChatVia
from tessera.transports.cot_stream.wire import WireEvent

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer


def message_text(message: ChatMessage) -> str:
    """The text TAK users see: the room it was said in, then what was said."""
    return f"[{message.picture}] {message.text}"


async def send_chat(server: CotServer) -> None:
    tessera = server.tessera
    chat = tessera.chat
    inbox = chat.feed.listen()
    try:
        while True:
            for message in await inbox.take():
                if message.via is not ChatVia.WEB:
                    continue
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
                wire = WireEvent(event)
                for session in server.sessions():
                    principal = session.principal
                    if principal is not None and chat.may_read(principal, message):
                        session.outbox.put_message(wire)
    finally:
        chat.feed.stop_listening(inbox)

"""``alerts`` messages on the stream: the subscribed picture's alerts the caller may see,
as they are raised, cleared and acknowledged."""

from __future__ import annotations

from starlette.websockets import WebSocket

from tessera.alerting.visibility import may_receive
from tessera.codecs.json import encode
from tessera.security.gate import Caller
from tessera.transports.web.context import Served


async def send_alerts(tessera: Served, websocket: WebSocket, who: Caller, picture: str) -> None:
    feed = tessera.alerts.feed
    inbox = feed.listen()
    try:
        while True:
            notices = [
                notice
                for notice in await inbox.take()
                if notice.alert.picture == picture
                and may_receive(who.principal, notice.alert, tessera.pictures, tessera.scheme)
            ]
            if not notices:
                continue
            message = {
                "type": "alerts",
                "picture": picture,
                "notices": [
                    {"id": notice.id, "event": notice.event, "alert": notice.alert}
                    for notice in notices
                ],
            }
            await websocket.send_text(encode(message).decode())
    finally:
        feed.stop_listening(inbox)

"""``chat`` messages on the stream: what is said in the subscribed picture's room that
the caller may read, as it is said (its history comes from ``GET .../chat``)."""

from __future__ import annotations

from starlette.websockets import WebSocket

from tessera.codecs.json import encode
from tessera.security.gate import Caller
from tessera.transports.web.context import Served


async def send_chat(tessera: Served, websocket: WebSocket, who: Caller, picture: str) -> None:
    chat = tessera.chat
    inbox = chat.feed.listen()
    try:
        while True:
            messages = [
                message
                for message in await inbox.take()
                if message.picture == picture and chat.may_read(who.principal, message)
            ]
            if messages:
                body = {"type": "chat", "picture": picture, "messages": messages}
                await websocket.send_text(encode(body).decode())
    finally:
        chat.feed.stop_listening(inbox)

"""/api/v1/pictures/{picture}/chat: a picture's room, read and said in (DESIGN §3).

Its readers read the room's history (only the messages whose label they may read) and
say things in it, labelled (their default label unless they give one the picture
admits). A picture the caller may not read answers 404, as one that does not exist.
"""

from __future__ import annotations

from typing import Final

import msgspec
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from tessera.chat.service import DEFAULT_HISTORY, MAX_HISTORY, ChatRefusedError
from tessera.codecs.errors import JSON_DECODE_ERRORS, json_field_error
from tessera.core.chat import ChatText
from tessera.core.model import Label, Role
from tessera.security.base import AuditEvent
from tessera.transports.web.api import BodyTooLargeError, caller, read_body
from tessera.transports.web.auth import Policy, requires
from tessera.transports.web.context import Served
from tessera.transports.web.refusals import record_refused_read
from tessera.transports.web.responses import JSONResponse, error

MAX_CHAT_BYTES: Final = 16 * 1024

CHAT_POLICIES: Final[dict[str, Policy]] = {
    "get_chat": requires(Role.VIEWER),
    "post_chat": requires(Role.VIEWER),
}


class ChatDoc(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: ChatText
    label: Label | None = None


_decoder = msgspec.json.Decoder(ChatDoc)


def chat_routes(api: str) -> list[BaseRoute]:
    room = f"{api}/pictures/{{picture}}/chat"
    return [
        Route(room, get_chat, methods=["GET"], name="get_chat"),
        Route(room, post_chat, methods=["POST"], name="post_chat"),
    ]


def _tessera(request: Request) -> Served:
    tessera: Served = request.app.state.tessera
    return tessera


async def get_chat(request: Request) -> JSONResponse:
    tessera = _tessera(request)
    who = caller(request)
    name = request.path_params["picture"]
    if tessera.chat.readable_picture(who.principal, name) is None:
        record_refused_read(tessera, who, "chat.read", name)
        return error(404, f"no picture named {name!r}")
    text = request.query_params.get("limit", str(DEFAULT_HISTORY))
    if not text.isdigit() or not 1 <= int(text) <= MAX_HISTORY:
        return error(400, f"limit: must be 1..{MAX_HISTORY}", parameter="limit")
    messages = tessera.chat.history(who.principal, name, int(text))
    return JSONResponse({"picture": name, "messages": messages, "count": len(messages)})


async def post_chat(request: Request) -> JSONResponse:
    tessera = _tessera(request)
    who = caller(request)
    name = request.path_params["picture"]
    try:
        body = await read_body(request, MAX_CHAT_BYTES)
        doc = _decoder.decode(body)
    except BodyTooLargeError:
        return error(413, f"the body is larger than {MAX_CHAT_BYTES} bytes")
    except JSON_DECODE_ERRORS as exc:
        problem = json_field_error(exc, body)
        return JSONResponse({"error": "invalid message", "errors": [problem]}, status_code=422)
    try:
        message = tessera.chat.post(who.principal, name, doc.text, doc.label)
    except ChatRefusedError as exc:
        if exc.status == 404:
            record_refused_read(tessera, who, "chat.post", name)
        return error(exc.status, str(exc))
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(),
            principal=who.principal.name,
            action="chat.post",
            outcome="ok",
            target=message.id,
            address=who.address,
            detail={"picture": name},
        )
    )
    return JSONResponse(message, status_code=201)

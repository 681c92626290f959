"""Signing in, who am I, and the administrators' reads (audit trail, principals)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request

from tessera.codecs.errors import JSON_DECODE_ERRORS, json_field_error
from tessera.codecs.json import to_builtins
from tessera.core.model import Principal
from tessera.security.base import AuditEvent
from tessera.security.gate import AccessDeniedError, Caller
from tessera.security.policy import readable_pictures
from tessera.transports.web.api import BodyTooLargeError, caller, picture_summary, read_body
from tessera.transports.web.audit_query import audit_query
from tessera.transports.web.auth import client_address
from tessera.transports.web.context import Served
from tessera.transports.web.params import ParameterError
from tessera.transports.web.responses import JSONResponse, error


class Login(msgspec.Struct, forbid_unknown_fields=True):
    token: str


def _tessera(request: Request) -> Served:
    tessera: Served = request.app.state.tessera
    return tessera


def _principal_doc(principal: Principal) -> dict[str, Any]:
    return {
        "name": principal.name,
        "kind": principal.kind.value,
        "communities": list(principal.communities),
        "clearance": principal.clearance,
        "roles": [role.value for role in principal.roles],
        "default_label": to_builtins(principal.default_label),
    }


async def _session(tessera: Served, who: Caller) -> dict[str, Any]:
    record = await tessera.security.token(who.token_id)
    pictures = readable_pictures(who.principal, tessera.pictures.values(), tessera.scheme)
    return {
        "principal": _principal_doc(who.principal),
        "pictures": [picture_summary(tessera, picture) for picture in pictures],
        # The classification levels, lowest first: what a label may say.
        "levels": list(tessera.scheme.levels),
        "token": {
            "id": who.token_id,
            "expires_at": None if record is None else record.expires_at,
        },
    }


async def post_login(request: Request) -> JSONResponse:
    """Check a token and say whose it is (the map's sign-in). Failures count against the
    caller's address like any other failed credential."""
    tessera = _tessera(request)
    try:
        body = await read_body(request, tessera.settings.max_small_body_bytes)
    except BodyTooLargeError:
        return error(413, "the sign-in body is too large")
    try:
        token = msgspec.json.decode(body, type=Login).token
    except JSON_DECODE_ERRORS as exc:
        problem = json_field_error(exc, body)
        where = "the body" if problem.field == "$" else f"{problem.field}:"
        return error(422, f'{where} {problem.reason}; send {{"token": "..."}}')
    address = client_address(request.scope)
    try:
        who = await tessera.gate.verify(token, address, action="login")
    except AccessDeniedError as denied:
        headers = {}
        if denied.retry_after is not None:
            headers["Retry-After"] = str(max(1, int(denied.retry_after + 0.999)))
        return JSONResponse({"error": denied.message}, status_code=denied.status, headers=headers)
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(), principal=who.principal.name, action="login", address=address
        )
    )
    return JSONResponse(await _session(tessera, who))


async def get_me(request: Request) -> JSONResponse:
    return JSONResponse(await _session(_tessera(request), caller(request)))


async def get_audit(request: Request) -> JSONResponse:
    """The audit trail, oldest first, filtered by action, principal, outcome and time;
    page on with ``after`` (the last ``seq`` seen)."""
    tessera = _tessera(request)
    try:
        query = audit_query(request.query_params)
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    await tessera.audit.flush()
    events = await tessera.security.audit(query.where, after_seq=query.after, limit=query.limit)
    reader = caller(request)
    # What was asked for is part of the read: a search for one principal's doings is itself
    # worth knowing about.
    asked = {name: value for name, value in request.query_params.items() if name != "after"}
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(),
            principal=reader.principal.name,
            action="audit.read",
            address=reader.address,
            detail={"events": len(events), **({"query": asked} if asked else {})},
        )
    )
    return JSONResponse({"events": to_builtins(events)})


async def get_principals(request: Request) -> JSONResponse:
    tessera = _tessera(request)
    principals = await tessera.security.principals()
    return JSONResponse(
        {
            "principals": [
                {**_principal_doc(p), "disabled": p.disabled, "created_at": p.created_at}
                for p in principals
            ]
        }
    )

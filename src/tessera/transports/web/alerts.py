"""/api/v1/alert-rules and /api/v1/alerts: rules per picture, the alerts they raised, and
acknowledging one (audited).

A rule is read by the readers of its picture and made, changed or deleted by operators
and administrators (those the settings file makes only there). An alert is listed only
to a reader of its picture who may read its label; anything else answers 404, exactly as
what does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from tessera.alerting.service import RuleReadOnlyError
from tessera.alerting.visibility import may_receive
from tessera.codecs.errors import JSON_DECODE_ERRORS, FieldError, json_field_error
from tessera.core.alerts.geometry import AREA_OVERLAYS
from tessera.core.alerts.rules import (
    DEFAULT_MARGIN_M,
    AlertRule,
    Kilometres,
    Metres,
    RuleKind,
    RuleName,
    Seconds,
    rule_problems,
)
from tessera.core.labels import Picture
from tessera.core.model import Identifier, Identity
from tessera.core.text import FREE_TEXT_PATTERN
from tessera.security.base import AuditEvent
from tessera.security.gate import Caller
from tessera.transports.web.api import (
    BodyTooLargeError,
    caller,
    picture_or_404,
    read_body,
    readable,
)
from tessera.transports.web.context import Served
from tessera.transports.web.responses import JSONResponse, error

MAX_RULE_BYTES: Final = 16 * 1024
DEFAULT_ALERT_LIMIT: Final = 200
MAX_ALERT_LIMIT: Final = 5_000


class RuleDoc(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A rule as clients send it (its id is made when none is given; ``picture``
    defaults to the one named in the query, else the caller's first)."""

    id: Identifier | None = None
    picture: str | None = None
    kind: RuleKind
    name: RuleName = ""
    area: Identifier | None = None
    identities: tuple[Identity, ...] = ()
    dwell_s: Seconds | None = None
    distance_km: Kilometres | None = None
    lost_after_s: Seconds | None = None
    lead_s: Seconds | None = None
    margin_m: Metres = DEFAULT_MARGIN_M
    enabled: bool = True


class AckDoc(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=1024, pattern=FREE_TEXT_PATTERN)] = ""


_rule_decoder = msgspec.json.Decoder(RuleDoc)
_ack_decoder = msgspec.json.Decoder(AckDoc)


def _tessera(request: Request) -> Served:
    tessera: Served = request.app.state.tessera
    return tessera


def rule_json(rule: AlertRule) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(rule)
    body["read_only"] = rule.origin == "settings"
    return body


async def get_alert_rules(request: Request) -> JSONResponse:
    picture = picture_or_404(request, "alerts.rules.read")
    if isinstance(picture, JSONResponse):
        return picture
    rules = _tessera(request).alerts.rules(picture.name)
    return JSONResponse({"picture": picture.name, "rules": [rule_json(r) for r in rules]})


async def get_alert_rule(request: Request) -> JSONResponse:
    found = _visible_rule(request)
    return found if isinstance(found, JSONResponse) else JSONResponse(rule_json(found))


async def post_alert_rule(request: Request) -> JSONResponse:
    return await _write_rule(request, None)


async def put_alert_rule(request: Request) -> JSONResponse:
    found = _visible_rule(request)
    if isinstance(found, JSONResponse):
        return found
    return await _write_rule(request, found)


async def delete_alert_rule(request: Request) -> Response:
    tessera = _tessera(request)
    found = _visible_rule(request)
    if isinstance(found, JSONResponse):
        return found
    try:
        tessera.alerts.delete_rule(found.id)
    except RuleReadOnlyError:
        return error(409, "this rule is made in the settings file: change it there")
    _audit(tessera, caller(request), "alerts.rules.delete", "ok", found.id, {})
    return Response(status_code=204)


async def _write_rule(request: Request, current: AlertRule | None) -> JSONResponse:
    tessera = _tessera(request)
    sender = caller(request)
    action = "alerts.rules.create" if current is None else "alerts.rules.edit"
    if current is not None and current.origin == "settings":
        return error(409, "this rule is made in the settings file: change it there")
    try:
        body = await read_body(request, MAX_RULE_BYTES)
    except BodyTooLargeError:
        return error(413, f"the body is larger than {MAX_RULE_BYTES} bytes")
    try:
        doc = _rule_decoder.decode(body)
    except JSON_DECODE_ERRORS as exc:
        return _invalid([json_field_error(exc, body)])
    picture = _picture_for(request, doc.picture or (current.picture if current else None))
    if isinstance(picture, JSONResponse):
        return picture
    if current is None:
        rule_id = doc.id or f"rule-{uuid.uuid4().hex[:16]}"
        if tessera.alerts.rule(rule_id) is not None:
            return error(409, f"a rule {rule_id!r} exists: PUT to change it")
    else:
        rule_id = current.id
    fields = msgspec.structs.asdict(doc) | {"id": rule_id, "picture": picture.name}
    rule = AlertRule(**fields, author=sender.principal.name, origin="api")
    problems = [FieldError(None, f, why) for f, why in _problems(tessera, rule)]
    if problems:
        return _invalid(problems)
    try:
        tessera.alerts.put_rule(rule)
    except RuleReadOnlyError:
        return error(409, "this rule is made in the settings file: change it there")
    _audit(tessera, sender, action, "ok", rule.id, {"picture": picture.name})
    status = 201 if current is None else 200
    return JSONResponse(rule_json(rule), status_code=status)


def _problems(tessera: Served, rule: AlertRule) -> list[tuple[str, str]]:
    problems = rule_problems(rule)
    if rule.area is not None:
        area = tessera.store.overlay(rule.picture, rule.area)
        if area is None:
            problems.append(("area", f"no overlay {rule.area!r} in picture {rule.picture!r}"))
        elif area.kind not in AREA_OVERLAYS:
            problems.append(("area", "must be an area, a circle or a corridor"))
    return problems


def _invalid(problems: list[FieldError]) -> JSONResponse:
    return JSONResponse({"error": "invalid alert rule", "errors": problems}, status_code=422)


def _picture_for(request: Request, name: str | None) -> Picture | JSONResponse:
    if name is None:
        return picture_or_404(request, "alerts.rules.edit")
    for picture in readable(request):
        if picture.name == name:
            return picture
    return error(404, f"no picture named {name!r}")


def _visible_rule(request: Request) -> AlertRule | JSONResponse:
    rule_id = request.path_params["rule_id"]
    rule = _tessera(request).alerts.rule(rule_id)
    if rule is None or rule.picture not in {p.name for p in readable(request)}:
        return error(404, f"no alert rule {rule_id!r}")
    return rule


async def get_alerts(request: Request) -> JSONResponse:
    picture = picture_or_404(request, "alerts.read")
    if isinstance(picture, JSONResponse):
        return picture
    tessera = _tessera(request)
    state = request.query_params.get("state", "active")
    if state not in ("active", "all"):
        return error(400, "state: must be active or all", parameter="state")
    text = request.query_params.get("limit", str(DEFAULT_ALERT_LIMIT))
    if not text.isdigit() or not 1 <= int(text) <= MAX_ALERT_LIMIT:
        return error(400, f"limit: must be 1..{MAX_ALERT_LIMIT}", parameter="limit")
    found = tessera.alerts.store.alerts(
        picture.name, active_only=state == "active", limit=int(text)
    )
    principal = caller(request).principal
    shown = [a for a in found if may_receive(principal, a, tessera.pictures, tessera.scheme)]
    return JSONResponse({"picture": picture.name, "alerts": shown, "count": len(shown)})


async def post_alert_ack(request: Request) -> JSONResponse:
    tessera = _tessera(request)
    sender = caller(request)
    alert_id = request.path_params["alert_id"]
    alert = tessera.alerts.store.alert(alert_id)
    if alert is None or not may_receive(sender.principal, alert, tessera.pictures, tessera.scheme):
        return error(404, f"no alert {alert_id!r}")
    try:
        body = await read_body(request, MAX_RULE_BYTES)
        doc = _ack_decoder.decode(body) if body.strip() else AckDoc()
    except BodyTooLargeError:
        return error(413, f"the body is larger than {MAX_RULE_BYTES} bytes")
    except JSON_DECODE_ERRORS as exc:
        problem = json_field_error(exc, body)
        return JSONResponse(
            {"error": "invalid acknowledgement", "errors": [problem]}, status_code=422
        )
    acknowledged = tessera.alerts.acknowledge(alert, sender.principal.name, doc.note)
    _audit(tessera, sender, "alerts.ack", "ok", alert.id, {"picture": alert.picture})
    return JSONResponse(acknowledged)


def _audit(
    tessera: Served, sender: Caller, action: str, outcome: str, target: str, detail: dict[str, Any]
) -> None:
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(),
            principal=sender.principal.name,
            action=action,
            outcome=outcome,
            target=target,
            address=sender.address,
            detail=detail,
        )
    )

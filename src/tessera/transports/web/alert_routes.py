"""The routes of /api/v1/alert-rules and /api/v1/alerts, and who may call them."""

from __future__ import annotations

from typing import Final

from starlette.routing import BaseRoute, Route

from tessera.core.model import Role
from tessera.transports.web import alerts
from tessera.transports.web.auth import Policy, requires

ALERT_POLICIES: Final[dict[str, Policy]] = {
    "get_alert_rules": requires(Role.VIEWER),
    "get_alert_rule": requires(Role.VIEWER),
    "post_alert_rule": requires(Role.OPERATOR, Role.ADMIN),
    "put_alert_rule": requires(Role.OPERATOR, Role.ADMIN),
    "delete_alert_rule": requires(Role.OPERATOR, Role.ADMIN),
    "get_alerts": requires(Role.VIEWER),
    "post_alert_ack": requires(Role.VIEWER),
}


def alert_routes(api: str) -> list[BaseRoute]:
    rules, rule = f"{api}/alert-rules", f"{api}/alert-rules/{{rule_id}}"
    return [
        Route(rules, alerts.get_alert_rules, methods=["GET"], name="get_alert_rules"),
        Route(rules, alerts.post_alert_rule, methods=["POST"], name="post_alert_rule"),
        Route(rule, alerts.get_alert_rule, methods=["GET"], name="get_alert_rule"),
        Route(rule, alerts.put_alert_rule, methods=["PUT"], name="put_alert_rule"),
        Route(rule, alerts.delete_alert_rule, methods=["DELETE"], name="delete_alert_rule"),
        Route(f"{api}/alerts", alerts.get_alerts, methods=["GET"], name="get_alerts"),
        Route(
            f"{api}/alerts/{{alert_id}}/ack",
            alerts.post_alert_ack,
            methods=["POST"],
            name="post_alert_ack",
        ),
    ]

"""Who is asking, and may they: bearer tokens, roles per route, rate limits (DESIGN §3).

Every route of the HTTP application has a policy, named beside it in the route table:
public, or the roles that may call it. The middleware finds the route a request is for,
checks the caller's token and roles against the route's policy, and hands the principal
to the handler in ``scope["state"]``. A route without a policy stops the application from
being built, so no path can be added that nobody guards. A path that matches no route
still needs a valid token: without one, the server says nothing about what exists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from tessera.codecs.json import encode
from tessera.core.model import Role
from tessera.security.base import AuditEvent
from tessera.security.gate import AccessDeniedError, Caller, Gate
from tessera.security.policy import has_any_role

BEARER_PROTOCOL: Final = "bearer."
STREAM_PROTOCOL: Final = "tessera.v1"
POLICY_VIOLATION: Final = 1008


@dataclass(frozen=True)
class Policy:
    """``public``: anyone, no token needed. Otherwise a valid token whose principal holds
    one of ``roles``."""

    public: bool = False
    roles: tuple[Role, ...] = ()

    def describe(self) -> str:
        return "public" if self.public else "roles: " + ", ".join(self.roles)


PUBLIC: Final = Policy(public=True)


def requires(*roles: Role) -> Policy:
    return Policy(roles=roles)


def bearer_token(scope: Scope) -> str | None:
    """From ``Authorization: Bearer``, or (WebSocket only, since browsers cannot set
    headers there) from a ``bearer.<token>`` subprotocol."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, credential = text.partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
    if scope["type"] == "websocket":
        for protocol in scope.get("subprotocols", ()):
            if protocol.startswith(BEARER_PROTOCOL):
                return str(protocol[len(BEARER_PROTOCOL) :])
    return None


def client_address(scope: Scope) -> str:
    """The socket's peer, or the client a trusted proxy forwarded (``ForwardedClient``
    puts it in the scope; the HTTP server itself never reads forwarding headers)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def route_policies(
    routes: Sequence[BaseRoute], policies: Mapping[str, Policy]
) -> list[tuple[BaseRoute, Policy]]:
    """Pair every route with its policy (by route name); a route without one is an error."""
    paired: list[tuple[BaseRoute, Policy]] = []
    for route in routes:
        name = getattr(route, "name", None)
        if name is None or name not in policies:
            raise RuntimeError(f"route {getattr(route, 'path', route)!r} has no access policy")
        paired.append((route, policies[name]))
    return paired


class Authenticate:
    """Pure ASGI middleware enforcing each route's policy."""

    def __init__(
        self, app: ASGIApp, *, gate: Gate, routes: Sequence[tuple[BaseRoute, Policy]]
    ) -> None:
        self.app = app
        self.gate = gate
        self.routes = routes

    def policy_for(self, scope: Scope) -> Policy:
        partial: Policy | None = None
        for route, policy in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return policy
            # The path matches but not the method: another route of the same path may
            # take the method, and its policy, not this one's, must then apply.
            if match is Match.PARTIAL and partial is None:
                partial = policy
        if partial is not None:
            return partial
        # No route: still only for those who may ask anything at all.
        return requires(*Role)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        policy = self.policy_for(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["caller"] = None
        if not policy.public:
            address = client_address(scope)
            try:
                caller = await self.gate.verify(bearer_token(scope), address, action="access")
                if not has_any_role(caller.principal, policy.roles):
                    self._record_refusal(caller, scope)
                    needed = ", ".join(policy.roles)
                    raise AccessDeniedError(403, f"this needs one of the roles: {needed}")
            except AccessDeniedError as denied:
                await _refuse(scope, send, denied)
                return
            state["caller"] = caller
        await self.app(scope, receive, send)

    def _record_refusal(self, caller: Caller, scope: Scope) -> None:
        self.gate.audit.record(
            AuditEvent(
                at=self.gate.clock(),
                principal=caller.principal.name,
                action="access",
                outcome="denied",
                target=f"{scope.get('method', 'WEBSOCKET')} {scope['path']}",
                address=caller.address,
            )
        )


async def _refuse(scope: Scope, send: Send, denied: AccessDeniedError) -> None:
    if scope["type"] == "websocket":
        # Closing before accepting refuses the handshake (the client sees HTTP 403).
        await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": ""})
        return
    headers = [(b"content-type", b"application/json")]
    if denied.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="tessera"'))
    if denied.retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(denied.retry_after))).encode()))
    body = encode({"error": denied.message})
    await send({"type": "http.response.start", "status": denied.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

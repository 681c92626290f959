"""X-Forwarded-For is believed only from the proxies the settings name: over a real socket
(uvicorn's own proxy handling is what once believed it from anyone on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.types import Message, Receive, Scope, Send

from tessera.security.base import AuditEvent
from tessera.settings import load_settings
from tessera.transports.web.forwarded import ForwardedClient, TrustedProxies
from tests.support import Live, live_server


def run_live(tmp_path: Path, scenario: Any, **overrides: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path, **overrides) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


async def audit_events(live: Live) -> list[AuditEvent]:
    await live.tessera.audit.flush()
    return await live.tessera.security.audit(limit=1000)


async def ws_refused(live: Live, headers: dict[str, str]) -> bool:
    try:
        async with websockets.connect(live.ws_url, additional_headers=headers):
            return False
    except websockets.InvalidStatus as exc:
        return exc.response.status_code == 403


def test_a_new_forwarded_address_per_attempt_does_not_escape_the_lockout(
    tmp_path: Path,
) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            codes = []
            for i in range(2):
                fake = {"x-forwarded-for": f"203.0.113.{i}"}
                answer = await client.post("/api/v1/login", json={"token": "tsr_x"}, headers=fake)
                codes.append(answer.status_code)
            # The stream counts the same address: a wrong token there is the third failure.
            wrong = {"authorization": "Bearer tsr_wrong", "x-forwarded-for": "203.0.113.50"}
            assert await ws_refused(live, wrong)
            fake = {"x-forwarded-for": "203.0.113.99"}
            locked = await client.post("/api/v1/login", json={"token": "tsr_x"}, headers=fake)
            codes.append(locked.status_code)
            # Locked out whatever address it claims, on the stream too, a good token as well.
            assert await ws_refused(live, {**live.headers, "x-forwarded-for": "198.51.100.1"})
        assert codes == [401, 401, 429]
        failed = [e for e in await audit_events(live) if e.outcome == "failed"]
        assert len(failed) == 3
        assert {e.address for e in failed} == {"127.0.0.1"}

    run_live(tmp_path, scenario, auth_failures_allowed=3)


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            # What the client wrote itself (left) is passed over: the right-most address
            # that is not a trusted proxy is the one the proxies vouch for.
            chain = {"x-forwarded-for": "192.0.2.66, 203.0.113.5, 10.1.2.3"}
            signed_in = await client.post(
                "/api/v1/login", json={"token": live.token}, headers=chain
            )
            assert signed_in.status_code == 200
            wrong = {"authorization": "Bearer tsr_wrong", "x-forwarded-for": "203.0.113.77"}
            assert await ws_refused(live, wrong)
            # Failures count against the forwarded client, not against the proxy.
            other = {"x-forwarded-for": "203.0.113.8"}
            for _ in range(2):
                answer = await client.post("/api/v1/login", json={"token": "x"}, headers=other)
                assert answer.status_code == 401
            locked = await client.post("/api/v1/login", json={"token": "x"}, headers=other)
            assert locked.status_code == 429
            me = await client.get("/api/v1/me", headers={**live.headers, **chain})
            assert me.status_code == 200
        events = await audit_events(live)
        login = next(e for e in events if e.action == "login" and e.outcome == "ok")
        assert login.address == "203.0.113.5"
        stream = next(e for e in events if e.outcome == "failed" and e.action == "access")
        assert stream.address == "203.0.113.77"

    run_live(
        tmp_path, scenario, trusted_proxies=["127.0.0.1", "10.0.0.0/8"], auth_failures_allowed=2
    )


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.1", ["203.0.113.5"], None),  # not a trusted proxy: its word is ignored
        ("10.0.0.1", [], "10.0.0.1"),  # the proxy's own request
        ("10.0.0.1", ["203.0.113.5"], "203.0.113.5"),
        ("10.0.0.1", ["1.1.1.1, 203.0.113.5"], "203.0.113.5"),
        ("10.0.0.1", ["1.1.1.1", "203.0.113.5, 10.0.0.2"], "203.0.113.5"),  # two headers
        ("10.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),  # all trusted: the furthest
        ("10.0.0.1", ["203.0.113.5, nonsense, 10.0.0.2"], "10.0.0.2"),
        ("10.0.0.1", [" 2001:db8::1 , "], "2001:db8::1"),
        ("::ffff:10.0.0.1", ["203.0.113.5"], "203.0.113.5"),  # IPv4 on a dual-stack socket
        ("fd00::1", ["[2001:db8::7]"], "2001:db8::7"),
        ("unknown", ["203.0.113.5"], None),
    ],
)
def test_the_client_is_the_right_most_untrusted_address(
    peer: str, forwarded: list[str], client: str | None
) -> None:
    assert TrustedProxies(["10.0.0.0/8", "fd00::/8"]).client(peer, forwarded) == client


def test_a_trusted_proxy_gives_the_scheme_too() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, _receive: Receive, _send: Send) -> None:
        seen.append(scope)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(_message: Message) -> None:
        return None

    async def call(kind: str, peer: str, *headers: tuple[bytes, bytes]) -> Scope:
        middleware = ForwardedClient(app, proxies=TrustedProxies(["10.0.0.1"]))
        scope = {"type": kind, "client": (peer, 5000), "scheme": "http", "headers": headers}
        await middleware(scope, receive, send)
        return seen[-1]

    async def main() -> None:
        https = (b"x-forwarded-proto", b"https")
        assert (await call("http", "10.0.0.1", https))["scheme"] == "https"
        assert (await call("websocket", "10.0.0.1", https))["scheme"] == "wss"
        assert (await call("http", "192.0.2.1", https))["scheme"] == "http"
        # Several values cannot all be the proxy's: none is believed.
        twice = await call("http", "10.0.0.1", https, (b"x-forwarded-proto", b"http"))
        assert twice["scheme"] == "http"
        forwarded = await call("http", "10.0.0.1", (b"x-forwarded-for", b"203.0.113.5"))
        assert forwarded["client"] == ("203.0.113.5", 0)
        assert (await call("http", "192.0.2.1", https))["client"] == ("192.0.2.1", 5000)

    asyncio.run(main())


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert load_settings(trusted_proxies=["10.0.0.5", "10.0.0.0/24", "::1"]).trusted_proxies
    for wrong in ("proxy.example", "10.0.0.1/24", "*"):
        with pytest.raises(ValueError, match="trusted_proxies"):
            load_settings(trusted_proxies=[wrong])

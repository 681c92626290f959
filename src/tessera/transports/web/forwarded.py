"""Who is really on the other end of a request that came through a reverse proxy.

``X-Forwarded-For`` is a list anyone can write: a client sends any addresses it likes and
each proxy appends the one it received the connection from. So it is believed only from
the proxies the settings name (``trusted_proxies``), and only as far as they vouch for
it: read from the right, the first address that is not itself a trusted proxy is the
client. From anyone else the socket's own peer is the client, whatever the headers say,
so the failed sign-in limit and the audit trail cannot be steered by a header.

``ForwardedClient`` puts the address found into the ASGI scope's ``client`` (where
``auth.client_address`` and everything else read it), and a trusted proxy's
``X-Forwarded-Proto`` into its ``scheme``, so links the server writes (the OGC API's)
keep the scheme the client used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES: Final = {
    ("http", "http"): "http",
    ("http", "https"): "https",
    ("websocket", "http"): "ws",
    ("websocket", "https"): "wss",
}


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: match them as IPv4.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` is believed (addresses or networks)."""

    def __init__(self, proxies: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(p) for p in proxies)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str | None:
        """The client's address when ``peer`` is a trusted proxy (None when it is not):
        the right-most address of the ``X-Forwarded-For`` chain that is not a trusted
        proxy itself, or the left-most if all are."""
        nearest = _address(peer)
        if nearest is None or not self.trusts(nearest):
            return None
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                # Not an address: whoever wrote it is not believed; the last trusted
                # proxy that handed it on is the nearest thing known.
                break
            nearest = address
            if not self.trusts(address):
                break
        return str(nearest)


class ForwardedClient:
    """Pure ASGI middleware: the scope's ``client`` and ``scheme`` as the trusted proxies
    say (left as they are for every other peer)."""

    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and self.proxies and client:
            headers = scope.get("headers", ())
            address = self.proxies.client(str(client[0]), _values(headers, b"x-forwarded-for"))
            if address is not None:
                scope = {**scope, "client": (address, 0)}
                scheme = _scheme(scope["type"], _values(headers, b"x-forwarded-proto"))
                if scheme is not None:
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)


def _values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in headers if key == name]


def _scheme(kind: str, proto: list[str]) -> str | None:
    # One value only: a list would be partly the client's own words.
    return _SCHEMES.get((kind, proto[0].strip().lower())) if len(proto) == 1 else None

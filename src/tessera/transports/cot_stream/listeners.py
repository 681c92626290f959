"""Opening the CoT ports the settings ask for, and the UDP mesh input.

Each port is bound here (so port 0 works) and announced as ``listening cot-tls|cot|cot-udp
HOST:PORT``, once the relay to the other gateways is open. TLS needs the data folder's
certificates; the first start creates a local CA and a server certificate if there are
none (``tessera certs`` manages them).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from tessera.codecs.cot import CotError, CotEvent, parse_event
from tessera.codecs.cot_framing import FramingError, parse_mesh_frame
from tessera.codecs.cot_proto import decode_payload
from tessera.core.model import Principal
from tessera.transports.cot_stream.alerts import send_alerts
from tessera.transports.cot_stream.chat import send_chat
from tessera.transports.cot_stream.server import GATEWAY, TCP, CotServer
from tessera.transports.cot_stream.session import CotSession
from tessera.transports.cot_stream.tls_accept import TLS

if TYPE_CHECKING:
    from tessera.transports.cot_stream.host import CotHost

log = logging.getLogger(__name__)
UDP = "udp"


def bind_udp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


class MeshReceiver(asyncio.DatagramProtocol):
    """UDP mesh input: each datagram one XML event or one mesh-framed protobuf event, all
    acting as the principal the settings name, by default as a gateway of many units
    (``cot_udp_mode``). Nothing is sent back."""

    def __init__(self, server: CotServer, session: CotSession) -> None:
        self.server = server
        self.session = session

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        event = _decode_datagram(data)
        if isinstance(event, str):
            self.session.counts["rejected"] += 1
            log.warning("UDP CoT datagram from %s dropped: %s", addr[0], event)
            return
        self.server.received(self.session, [event])


def _decode_datagram(data: bytes) -> CotEvent | str:
    try:
        if data[:1] == b"\xbf":
            return decode_payload(parse_mesh_frame(data))
        return parse_event(data)
    except (CotError, FramingError) as exc:
        return str(exc)


async def start_cot(
    tessera: CotHost,
    bind: Callable[[str, int], socket.socket],
    announce: Callable[[str, socket.socket], str],
) -> CotServer | None:
    """Open the configured CoT ports; None if none is configured."""
    settings = tessera.settings
    ports = (settings.cot_tls_port, settings.cot_tcp_port, settings.cot_udp_port)
    if all(port is None for port in ports):
        return None
    contexts = None
    if settings.cot_tls_port is not None:
        from tessera.security.tls import ensure_server_contexts

        contexts = ensure_server_contexts(settings.data_dir, hosts=(settings.host,))
    server = CotServer(tessera, contexts)
    server.own(asyncio.create_task(send_alerts(server), name="cot-alerts"))
    server.own(asyncio.create_task(send_chat(server), name="cot-chat"))
    await server.open_relay()
    try:
        if settings.cot_tls_port is not None:
            sock = bind(settings.host, settings.cot_tls_port)
            await server.listen(TLS, sock)
            announce("cot-tls", sock)
        if settings.cot_tcp_port is not None:
            sock = bind(settings.host, settings.cot_tcp_port)
            await server.listen(TCP, sock)
            announce("cot", sock)
        if settings.cot_udp_port is not None:
            await _start_udp(tessera, server, announce)
    except BaseException:
        await server.stop()
        raise
    return server


async def _start_udp(
    tessera: CotHost, server: CotServer, announce: Callable[[str, socket.socket], str]
) -> None:
    settings = tessera.settings
    assert settings.cot_udp_port is not None and settings.cot_udp_principal is not None
    principal: Principal | None = await tessera.security.principal(settings.cot_udp_principal)
    if principal is None or principal.disabled:
        raise ValueError(
            f"cot_udp_principal {settings.cot_udp_principal!r} is not an enabled principal"
        )
    session = CotSession(server, kind=UDP, gateway=settings.cot_udp_mode == GATEWAY)
    session.principal = principal
    sock = bind_udp(settings.host, settings.cot_udp_port)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: MeshReceiver(server, session), sock=sock
    )
    server.closing(transport)
    announce("cot-udp", sock)

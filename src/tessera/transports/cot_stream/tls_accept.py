"""Accepting a TAK client over TLS: the TCP connection first, then the handshake with the
server's context as it is at that moment.

asyncio fixes a listener's SSL context when it starts; a handshake started here for each
connection (``loop.start_tls``) takes ``ServerContexts.current()`` instead, so a CRL
written by ``tessera certs revoke`` refuses the revoked certificate from the next
handshake on, and a failed handshake reaches this code, which audits it with its reason.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING, Final

from tessera.security.tls import ServerContexts
from tessera.transports.cot_stream.session import CotSession

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer

TLS: Final = "tls"
# OpenSSL's reasons without a verification message, as an operator reads them.
_REASONS: Final = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "no client certificate",
    "WRONG_VERSION_NUMBER": "not TLS, or a TLS version refused",
    "HTTP_REQUEST": "plain HTTP, not TLS",
    "UNSUPPORTED_PROTOCOL": "a TLS version refused",
}


class TlsAcceptor(asyncio.Protocol):
    """The protocol of a just-accepted TCP connection: it reads nothing, and hands the
    connection to a handshake at once."""

    def __init__(self, server: CotServer, contexts: ServerContexts) -> None:
        self.server = server
        self.contexts = contexts

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        # Until the handshake takes over, the client's hello stays in the socket.
        transport.pause_reading()
        self.server.own(asyncio.create_task(self._handshake(transport), name="cot-tls"))

    async def _handshake(self, transport: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        timeout = self.server.settings.cot_handshake_timeout_s
        session = CotSession(self.server, kind=TLS)
        try:
            secured = await loop.start_tls(
                transport,
                session,
                self.contexts.current(),
                server_side=True,
                ssl_handshake_timeout=timeout,
            )
        except ConnectionAbortedError:  # what asyncio raises when the time is up
            self.server.refusals.record(address, f"no TLS handshake within {timeout:g} s", kind=TLS)
            return
        except (OSError, ValueError) as exc:
            self.server.refusals.record(address, handshake_refusal(exc), kind=TLS)
            return
        if secured is None or secured.is_closing():  # gone while the handshake ended
            return
        # The session may have been handed bytes already (a client that writes right
        # after its side of the handshake): it keeps them until it knows who this is.
        session.connection_made(secured)


def handshake_refusal(exc: BaseException) -> str:
    """Why a TLS handshake failed, in words: OpenSSL's verification message (certificate
    revoked, unable to get local issuer certificate, certificate has expired...), else
    its reason."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, ssl.SSLError) and exc.reason:
        reason = str(exc.reason)
        return _REASONS.get(reason, reason.lower().replace("_", " "))
    if isinstance(exc, ConnectionError):
        return "the client closed the connection during the TLS handshake"
    return f"TLS handshake failed: {exc or type(exc).__name__}"

"""uvicorn's HTTP/1.1 protocol (the httptools one, which uvicorn picks when httptools is
installed, as ``uvicorn[standard]`` does) with the two limits it lacks.

- **A deadline for the request head.** uvicorn's keep-alive timer runs only between
  requests, once a response is complete: a connection that sends nothing, or trickles
  its head a byte at a time, is otherwise held for ever, and a few hundred of them hold
  as many sockets. The timer here starts when the connection opens, and again at the
  first byte after a response; it stops once the head is parsed (a slow body is the
  handler's business, bounded by its own size limits).
- **The connection limit applies to WebSocket upgrades too.** uvicorn counts open
  streams against ``limit_concurrency`` but checks it only for plain requests, so
  without this streams could grow past the limit while everything else answers 503.
"""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger(__name__)


class EdgeProtocol(HttpToolsProtocol):
    header_timeout_s: ClassVar[float] = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # The first byte after a response begins a new head (uvicorn's keep-alive timer,
        # which these bytes cancel, no longer watches it).
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self._head_timer is None:
            self._arm()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The same test uvicorn makes for a plain request (this connection included).
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            log.warning("a WebSocket stream refused: %d connections open", len(self.connections))
            self._send_503()
            return
        super().handle_websocket_upgrade()

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _send_503(self) -> None:
        body = b"Service Unavailable"
        head = [STATUS_LINE[503]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: text/plain; charset=utf-8\r\n")
        head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join([*head, body]))
        self.transport.close()


def edge_protocol(header_timeout_s: float) -> type[EdgeProtocol]:
    """The protocol class for one server: uvicorn makes an instance per connection from
    the class it is given, so the timeout rides on the class."""

    class Configured(EdgeProtocol):
        pass

    Configured.header_timeout_s = header_timeout_s
    return Configured

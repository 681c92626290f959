"""The listening socket: what asyncio needs to send small responses without delay."""

from __future__ import annotations

import socket

from tessera.server import bind


def test_the_listening_socket_lets_asyncio_turn_nagle_off() -> None:
    # asyncio disables Nagle's algorithm only on sockets created as IPPROTO_TCP; without
    # it every response written in two parts waited 40 ms for a delayed acknowledgement.
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()

"""The CoT ports' settings checked (``cot_tcp_port``, ``cot_udp_port`` and what they
carry): the fields themselves are in ``tessera.settings``."""

from __future__ import annotations

import math
from typing import Literal

# What a plain (TCP or UDP) CoT connection carries: one TAK client, or many units.
PlainPortMode = Literal["client", "gateway"]


def check_plain_ports(
    *,
    tcp_port: int | None,
    tcp_principal: str | None,
    udp_port: int | None,
    udp_principal: str | None,
    chat_replay_s: float,
) -> None:
    """Raise ValueError naming what is wrong: a plain port needs the principal everything
    arriving there acts as; the chat replayed to a TAK client is zero or more seconds."""
    for name, port, principal in (
        ("cot_tcp", tcp_port, tcp_principal),
        ("cot_udp", udp_port, udp_principal),
    ):
        if port is not None and not principal:
            raise ValueError(
                f"{name}_port needs {name}_principal: everything arriving there acts as it"
            )
    if not 0 <= chat_replay_s < math.inf:
        raise ValueError("cot_chat_replay_s must be zero (no chat replayed) or more")

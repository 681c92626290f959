"""Refused CoT connections on the audit trail: ``cot.refused_connection``, outcome
``denied``, with the client's address and the reason (a failed TLS handshake, a
certificate the store does not count, a disabled principal, a client that never
identified itself).

Anyone who can reach the port can be refused, as often as they like: past a burst, each
address gets one audited refusal a second, and the next one audited says how many were
left out (``unaudited``), so a flood neither fills the trail nor hides.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

from tessera.security.audit import AuditTrail
from tessera.security.base import AuditEvent
from tessera.security.limits import RequestLimiter

log = logging.getLogger(__name__)
REFUSED_CONNECTION: Final = "cot.refused_connection"
AUDITED_PER_S: Final = 1.0
AUDITED_BURST: Final = 20
# Addresses whose left-out refusals are counted; past this, the counts start again.
MAX_COUNTED_ADDRESSES: Final = 10_000


class ConnectionRefusals:
    def __init__(
        self,
        audit: AuditTrail,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audit = audit
        self.clock = clock
        self.monotonic = monotonic
        self._limiter = RequestLimiter(AUDITED_PER_S, AUDITED_BURST)
        self._unaudited: dict[str, int] = {}

    def record(
        self,
        address: str,
        reason: str,
        *,
        kind: str,
        principal: str | None = None,
        target: str = "",
    ) -> None:
        """Audit one refused connection from ``address``, within the address's allowance."""
        if self._limiter.take(address, self.monotonic()) is not None:
            if len(self._unaudited) >= MAX_COUNTED_ADDRESSES:
                self._unaudited.clear()
            self._unaudited[address] = self._unaudited.get(address, 0) + 1
            log.debug("refused CoT connection from %s (not audited): %s", address, reason)
            return
        log.info("refused CoT connection from %s: %s", address, reason)
        detail: dict[str, object] = {"reason": reason, "kind": kind}
        left_out = self._unaudited.pop(address, 0)
        if left_out:
            detail["unaudited"] = left_out
        self.audit.record(
            AuditEvent(
                at=self.clock(),
                principal=principal,
                action=REFUSED_CONNECTION,
                outcome="denied",
                target=target,
                address=address,
                detail=detail,
            )
        )

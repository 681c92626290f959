"""Refused reads on the audit trail: a picture asked for that the caller may not read.

The caller's answer is the same 404 as for a picture that does not exist, so a partner
learns nothing from it; the trail, read by administrators only, says which it was. One
event per refused request; successful reads are not recorded (they would drown the trail).
"""

from __future__ import annotations

from typing import Final

from tessera.security.base import AuditEvent
from tessera.security.gate import Caller
from tessera.transports.web.context import Served

NO_PICTURE: Final = "the caller may read no picture"


def record_refused_read(
    tessera: Served, who: Caller, action: str, picture: str | None, **detail: str
) -> None:
    """``action`` (``tracks.read``, ``export``, ...) refused for the picture named
    ``picture`` (None when none was named and the caller has none to default to)."""
    if picture is None:
        reason = NO_PICTURE
    elif picture in tessera.pictures:
        reason = "not one of the caller's pictures"
    else:
        reason = "no such picture"
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(),
            principal=who.principal.name,
            action=action,
            outcome="denied",
            target=picture or "",
            address=who.address,
            detail={"reason": reason, **detail},
        )
    )

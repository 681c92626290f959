"""CoT for alerts, both ways. Pure: no I/O.

In: a TAK client's emergency (``b-a-o-*``: 911, ring the bell, troops in contact) is a
report that holds until its cancel (``b-a-o-can``, the same uid) withdraws it; its subject
marks it (``core.alerts.emergency``) for the emergency alert rule.

Out: an alert, as a GeoChat message from "Tessera" to All Chat Rooms, which TAK apps show
and notify.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from tessera.codecs.cot_chat import ALL_CHAT_ROOMS as ALL_CHAT_ROOMS
from tessera.codecs.cot_chat import FRIENDLY_GROUND_UNIT, geochat_event
from tessera.codecs.cot_model import CotEvent, as_utc
from tessera.codecs.cot_reports import retraction_report, safe_identifier
from tessera.core.alerts.emergency import emergency_subject
from tessera.core.cot_types import sidc_of_type
from tessera.core.model import (
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    bounded_hold,
)

EMERGENCY_PREFIX: Final = "b-a-o-"
CANCEL_TYPE: Final = "b-a-o-can"
EMERGENCY_KINDS: Final = {
    "b-a-o-tbl": "911 Alert",
    "b-a-o-pan": "Ring The Bell",
    "b-a-o-opn": "Troops In Contact",
    "b-a-o-c": "Custom",
}
# An emergency holds until cancelled: this long at most without being raised again.
EMERGENCY_HOLD: Final = timedelta(hours=24)
EMERGENCY_CE_M: Final = 250.0
ALERTS_UID: Final = "tessera-alerts"
ALERTS_CALLSIGN: Final = "Tessera"


def is_emergency(event: CotEvent) -> bool:
    return event.type.startswith(EMERGENCY_PREFIX)


def emergency_report(
    event: CotEvent,
    *,
    sender_uid: str,
    new_id: Callable[[], str],
    now: datetime,
    label: Label,
) -> Report:
    """The report an emergency or its cancel makes (a cancel: the retraction of it)."""
    subject = emergency_subject(safe_identifier(event.uid))
    if event.type == CANCEL_TYPE:
        return retraction_report(
            subject, last=None, sender_uid=sender_uid, new_id=new_id, now=now, label=label
        )
    observed_at = min(as_utc(event.time), as_utc(now))
    kind = EMERGENCY_KINDS.get(event.type, "Emergency")
    remarks = f"{kind}: {event.remarks}" if event.remarks else kind
    return Report(
        id=new_id(),
        source=Source(id=safe_identifier(sender_uid), kind=SourceKind.HUMAN),
        observed_at=observed_at,
        valid_until=bounded_hold(observed_at, observed_at + EMERGENCY_HOLD),
        position=Position(lat=event.lat, lon=event.lon, ce=EMERGENCY_CE_M),
        subject=subject,
        identity=Identity.FRIEND,
        sidc=sidc_of_type(FRIENDLY_GROUND_UNIT).sidc,
        label=label,
        remarks=remarks[:4096],
        name=(event.callsign or sender_uid)[:256],
    )


def alert_chat_event(
    message_id: str, text: str, *, lat: float, lon: float, now: datetime, stale_s: float
) -> CotEvent:
    """A GeoChat message (``b-t-f``) to All Chat Rooms from Tessera, placed at ``lat``,
    ``lon`` (where the alert is)."""
    return geochat_event(
        sender_uid=ALERTS_UID,
        callsign=ALERTS_CALLSIGN,
        message_id=message_id,
        text=text,
        lat=lat,
        lon=lon,
        now=now,
        stale_s=stale_s,
    )

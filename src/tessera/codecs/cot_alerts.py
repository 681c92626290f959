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

from lxml import etree

from tessera.codecs.cot import parse_event
from tessera.codecs.cot_model import CotEvent, as_utc, cot_time
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
from tessera.core.text import without_control_characters

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
FRIENDLY_GROUND_UNIT: Final = "a-f-G-U-C"
ALERTS_UID: Final = "tessera-alerts"
ALERTS_CALLSIGN: Final = "Tessera"
ALL_CHAT_ROOMS: Final = "All Chat Rooms"


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
    time = cot_time(now)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z"
    event = etree.Element("event")
    for name, value in (
        ("version", "2.0"),
        ("uid", f"GeoChat.{ALERTS_UID}.{ALL_CHAT_ROOMS}.{message_id}"),
        ("type", "b-t-f"),
        ("how", "h-g-i-g-o"),
        ("time", stamp),
        ("start", stamp),
        ("stale", (cot_time(now + timedelta(seconds=stale_s))).strftime("%Y-%m-%dT%H:%M:%SZ")),
    ):
        event.set(name, value)
    point = etree.SubElement(event, "point")
    for name, number in (("lat", lat), ("lon", lon), ("hae", 0.0), ("ce", 9999999.0)):
        point.set(name, repr(number))
    point.set("le", "9999999.0")
    detail = etree.SubElement(event, "detail")
    chat = etree.SubElement(
        detail,
        "__chat",
        parent="RootContactGroup",
        groupOwner="false",
        chatroom=ALL_CHAT_ROOMS,
        id=ALL_CHAT_ROOMS,
        senderCallsign=ALERTS_CALLSIGN,
    )
    etree.SubElement(chat, "chatgrp", uid0=ALERTS_UID, uid1=ALL_CHAT_ROOMS, id=ALL_CHAT_ROOMS)
    etree.SubElement(detail, "link", uid=ALERTS_UID, type=FRIENDLY_GROUND_UNIT, relation="p-p")
    remarks = etree.SubElement(
        detail, "remarks", source=f"BAO.F.ATAK.{ALERTS_UID}", to=ALL_CHAT_ROOMS, time=stamp
    )
    remarks.text = without_control_characters(text)
    return parse_event(etree.tostring(event))

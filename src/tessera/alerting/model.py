"""What an alert and an acknowledgement are, as kept, listed and sent."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

import msgspec

from tessera.core.alerts.evaluator import AlertChange
from tessera.core.alerts.rules import RuleKind
from tessera.core.model import Label


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One episode of one rule for one track (of a new-imagery rule: one image, whose
    footprint overlay's id is ``track_id``). ``label`` is the track's or the image's
    (joined with the area's or the friendly track's it names): who may not read it is
    never told of it.
    ``other``: the area (overlay id) or the friendly track the alert names."""

    id: str
    picture: str
    rule_id: str
    kind: RuleKind
    title: str
    track_id: str
    track_name: str | None = None
    other: str | None = None
    detail: str = ""
    label: Label
    lat: float
    lon: float
    raised_at: datetime
    cleared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.picture, self.rule_id, self.track_id)


class Acknowledgement(msgspec.Struct, frozen=True, kw_only=True):
    alert_id: str
    picture: str
    by: str
    at: datetime
    note: str = ""


class NoticeKind(enum.StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"


class AlertNotice(msgspec.Struct, frozen=True, kw_only=True):
    """An alert as it now is, and what just happened to it. ``id`` names this notice
    (the alert's id and what happened): a receiver told twice sees the same id."""

    event: NoticeKind
    alert: Alert

    @property
    def id(self) -> str:
        return f"{self.alert.id}.{self.event.value}"


def alert_id(picture: str, change: AlertChange) -> str:
    """The same episode gets the same id wherever and however often it is judged."""
    text = "\x1f".join((picture, change.rule.id, change.track_id, change.at.isoformat()))
    return "al-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def raised_alert(picture: str, change: AlertChange) -> Alert:
    track = change.track
    return Alert(
        id=alert_id(picture, change),
        picture=picture,
        rule_id=change.rule.id,
        kind=change.rule.kind,
        title=change.rule.title,
        track_id=change.track_id,
        track_name=change.name if track is None else track.name,
        other=change.other,
        detail=change.detail,
        label=change.label,
        lat=track.position.lat if track is not None else (change.where or (0.0, 0.0))[0],
        lon=track.position.lon if track is not None else (change.where or (0.0, 0.0))[1],
        raised_at=change.at,
    )

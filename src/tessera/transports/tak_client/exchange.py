"""What crosses a TAK server link, decided without I/O.

Outbound (``Releaser``): a track of the link's picture goes out only if the link's
release rule admits its label, and only if something other than this very link reported
it (what came from the server is never sent back to it). A track that was sent and is no
longer releasable, or has left the picture, is sent once more stale at once, so TAK
clients drop it. Every uid sent starts with the link's own uid.

Inbound (``Intake``): the server's events become reports of the link's source, one
subject per TAK uid (``name:uid``); our own events coming back (FreeTAKServer echoes
each event to its sender) are recognised by their uid and dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum

import msgspec

from tessera.codecs.cot_model import CotEvent, cot_time
from tessera.codecs.cot_reports import event_to_report, safe_identifier, track_to_event
from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.model import Grading, Label, Report, Source, SourceKind, Track
from tessera.transports.tak_client.config import TakServerConfig

PRESENCE_TYPE = "a-f-G-U-C"


class Releaser:
    def __init__(self, config: TakServerConfig, scheme: ClassificationScheme) -> None:
        self._config = config
        self._scheme = scheme
        self._rule = Picture(name=f"release:{config.name}", rule=config.release)
        self._stale_after = timedelta(seconds=config.stale_s)
        # Per track id: the last event sent for it (what a removal repeats, stale).
        self._sent: dict[str, CotEvent] = {}

    def forget(self) -> None:
        """A new connection: nothing has been sent on it yet."""
        self._sent.clear()

    def releasable(self, track: Track) -> bool:
        if not admits(self._rule, track.label, self._scheme):
            return False
        return any(source.id != self._config.name for source in track.sources)

    def event(self, track_id: str, track: Track | None, now: datetime) -> CotEvent | None:
        """What to send for the track's new state (None: nothing)."""
        if track is not None and self.releasable(track):
            event = track_to_event(
                track, picture=self._config.picture, now=now, stale_after=self._stale_after
            )
            event = msgspec.structs.replace(event, uid=f"{self._config.own_uid}.{track.id}")
            self._sent[track_id] = event
            return event
        last = self._sent.pop(track_id, None)
        if last is None:
            return None
        time = cot_time(now)
        return msgspec.structs.replace(last, time=time, start=time, stale=time)


def presence(config: TakServerConfig, now: datetime) -> CotEvent:
    """The link's own presence, at 0°, 0° (how TAK says "no fix"): how a TAK server
    learns of a client (some forward nothing to a client before it has said who it is)."""
    time = cot_time(now)
    return CotEvent(
        uid=config.own_uid,
        type=PRESENCE_TYPE,
        how="h-e",
        time=time,
        start=time,
        stale=cot_time(now + timedelta(seconds=3 * config.presence_s)),
        lat=0.0,
        lon=0.0,
        callsign=config.callsign or config.own_uid,
    )


class Taken(Enum):
    REPORT = "report"
    ECHO = "echo"
    IGNORED = "ignored"


class Intake:
    def __init__(self, config: TakServerConfig, label: Label, new_id: Callable[[], str]) -> None:
        self._config = config
        self._label = label
        self._new_id = new_id
        self._grading = Grading.parse(config.grading)
        self._prefix = config.own_uid + "."

    def is_echo(self, event: CotEvent) -> bool:
        uid = event.uid
        return uid == self._config.own_uid or uid.startswith(self._prefix)

    def report(self, event: CotEvent, now: datetime) -> tuple[Taken, Report | None]:
        if self.is_echo(event):
            return Taken.ECHO, None
        if event.type.startswith("t-"):
            return Taken.IGNORED, None
        report = event_to_report(
            event, sender_uid=event.uid, new_id=self._new_id, now=now, label=self._label
        )
        if report is None:
            return Taken.IGNORED, None
        name = self._config.name
        return Taken.REPORT, msgspec.structs.replace(
            report,
            source=Source(id=name, kind=SourceKind.SYSTEM),
            subject=safe_identifier(f"{name}:{event.uid}"),
            grading=self._grading,
        )

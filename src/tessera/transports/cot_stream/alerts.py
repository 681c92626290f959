"""Alerts to TAK clients: each raise and clear as a GeoChat message, to every connected
client whose principal may see the alert (a reader of its picture cleared for its label)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.alerting.model import Alert, NoticeKind
from tessera.alerting.visibility import may_receive
from tessera.codecs.cot_alerts import alert_chat_event
from tessera.transports.cot_stream.wire import WireEvent

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer


def alert_text(alert: Alert, event: NoticeKind) -> str:
    what = "ALERT" if event is NoticeKind.RAISED else "CLEARED"
    track = alert.track_name or alert.track_id
    detail = f": {alert.detail}" if alert.detail else ""
    return f"{what} [{alert.kind.value}] {alert.title}: {track}{detail} ({alert.picture})"


async def send_alerts(server: CotServer) -> None:
    tessera = server.tessera
    feed = tessera.alerts.feed
    inbox = feed.listen()
    try:
        while True:
            for notice in await inbox.take():
                if notice.event is NoticeKind.ACKNOWLEDGED:
                    continue
                alert = notice.alert
                event = alert_chat_event(
                    notice.id,
                    alert_text(alert, notice.event),
                    lat=alert.lat,
                    lon=alert.lon,
                    now=tessera.clock(),
                    stale_s=server.settings.cot_stale_s,
                )
                wire = WireEvent(event)
                for session in server.sessions():
                    principal = session.principal
                    if principal is not None and may_receive(
                        principal, alert, tessera.pictures, tessera.scheme
                    ):
                        session.outbox.put_message(wire)
    finally:
        feed.stop_listening(inbox)

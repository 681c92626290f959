"""TAK clients and alerts: a client's emergency (911) raises the emergency alert and its
cancel clears it; other clients are told both as GeoChat messages over raw CoT on TCP,
and only those whose principal may see the alert."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from tessera.alerting.feed import AlertFeed
from tessera.alerting.model import Alert, AlertNotice, NoticeKind
from tessera.codecs.cot import CotEvent, parse_event
from tessera.codecs.cot_alerts import emergency_report
from tessera.codecs.cot_reports import is_chat
from tessera.core.alerts.rules import RuleKind
from tessera.core.labels import ClassificationScheme, Picture
from tessera.core.model import Label, Principal, Role
from tessera.transports.cot_stream.alerts import send_alerts
from tests.alerting.scenario import PICTURES
from tests.codecs.cot_samples import cot_sample
from tests.transports.cot_support import CotReader, live_cot

TAK_NATO = Principal(
    name="tak-nato",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("RESTRICTED", ("NATO",)),
)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def event_xml(uid: str, cot_type: str, detail: str, how: str = "m-g") -> bytes:
    now = datetime.now(UTC)
    return (
        f'<event version="2.0" uid="{uid}" type="{cot_type}" how="{how}" time="{stamp(now)}" '
        f'start="{stamp(now)}" stale="{stamp(now + timedelta(minutes=5))}">'
        '<point lat="50.0" lon="10.0" hae="0" ce="10" le="10"/>'
        f"<detail>{detail}</detail></event>"
    ).encode()


SELF = '<contact callsign="NATO-1"/>'
SOS = (
    '<contact callsign="NATO-1-Alert"/><emergency type="911 Alert"/>'
    '<link relation="p-p" type="a-f-G-U-C" uid="ANDROID-nato-1"/><remarks>CALL 911 NOW</remarks>'
)
CANCEL = '<emergency cancel="true">NATO-1</emergency>'


def chat_saying(word: str) -> Any:
    def said(event: CotEvent) -> bool:
        return event.type == "b-t-f" and (event.remarks or "").startswith(word)

    return said


def test_a_tak_emergency_raises_an_alert_other_tak_clients_get(tmp_path: Path) -> None:
    async def main() -> None:
        async with live_cot(
            tmp_path,
            [TAK_NATO],
            pictures=PICTURES,
            cot_tcp_port=0,
            cot_tcp_principal="tak-nato",
        ) as live:
            async with live.live.client() as admin:
                rule = {"kind": "emergency", "picture": "NATO", "name": "SOS"}
                assert (await admin.post("/api/v1/alert-rules", json=rule)).status_code == 201
            port = live.ports["cot"]
            _, sender = await asyncio.open_connection("127.0.0.1", port)
            sender.write(event_xml("ANDROID-nato-1", "a-f-G-U-C", SELF))
            await sender.drain()
            reader, listener = await asyncio.open_connection("127.0.0.1", port)
            heard = CotReader(reader)
            reading = asyncio.create_task(heard.run())
            try:
                # Welcomed: it is given what the other client shares.
                await heard.wait_for(lambda e: e.uid == "ANDROID-nato-1", 20)
                sender.write(event_xml("ANDROID-nato-1-9-1-1", "b-a-o-tbl", SOS, how="h-e"))
                await sender.drain()
                raised = await heard.wait_for(chat_saying("ALERT [emergency] SOS"), 20)
                sender.write(event_xml("ANDROID-nato-1-9-1-1", "b-a-o-can", CANCEL, how="h-e"))
                await sender.drain()
                cleared = await heard.wait_for(chat_saying("CLEARED [emergency] SOS"), 20)
            finally:
                reading.cancel()
                sender.close()
                listener.close()
            assert raised.chat_room == "All Chat Rooms" and raised.chat_sender == "Tessera"
            assert "NATO-1-Alert" in (raised.remarks or "")
            assert "(NATO)" in (cleared.remarks or "")
            alerts = live.live.tessera.alerts.store.alerts("NATO")
            assert [(a.kind, a.cleared_at is not None) for a in alerts] == [
                (RuleKind.EMERGENCY, True)
            ]

    asyncio.run(main())


def test_the_samples_emergency_and_cancel_make_one_subject() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    label = Label("UNCLASSIFIED")
    alert = parse_event(cot_sample("atak-emergency-911-b-a-o-tbl__freetaktest.xml"))
    cancel = parse_event(cot_sample("atak-emergency-cancel-b-a-o-can__freetaktest.xml"))
    made = emergency_report(alert, sender_uid="phone", new_id=lambda: "r1", now=now, label=label)
    assert made.remarks == "911 Alert: CALL 911 NOW" and made.name == "corvo-Alert"
    assert made.valid_until is not None and made.valid_until > made.observed_at
    withdrawn = emergency_report(cancel, sender_uid="p", new_id=lambda: "r2", now=now, label=label)
    assert withdrawn.retraction and withdrawn.subject == ("emergency.ANDROID-352614100054990-9-1-1")
    assert (made.subject or "").startswith("emergency.19027480992-9-1-1")


@pytest.mark.parametrize(
    ("principal", "told"),
    [
        (TAK_NATO, True),
        (Principal(name="ukr", communities=("UKR",), clearance="SECRET"), False),
        (Principal(name="low", communities=("NATO",), clearance="UNCLASSIFIED"), False),
    ],
)
def test_only_clients_who_may_see_the_alert_are_told(principal: Principal, told: bool) -> None:
    async def main() -> list[Any]:
        sent: list[Any] = []
        outbox = SimpleNamespace(put_message=sent.append)
        session = SimpleNamespace(principal=principal, outbox=outbox)
        feed = AlertFeed()
        pictures = {"NATO": msgspec.convert(PICTURES[1], Picture)}
        tessera = SimpleNamespace(
            alerts=SimpleNamespace(feed=feed),
            pictures=pictures,
            scheme=ClassificationScheme(),
            clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        )
        server = SimpleNamespace(
            tessera=tessera, settings=SimpleNamespace(cot_stale_s=60.0), sessions=lambda: [session]
        )
        task = asyncio.create_task(send_alerts(server))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        alert = Alert(
            id="al-1",
            picture="NATO",
            rule_id="r",
            kind=RuleKind.NEW_HOSTILE,
            title="new",
            track_id="t",
            label=Label("SECRET", ("NATO",)),
            lat=50.0,
            lon=10.0,
            raised_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        feed.publish(AlertNotice(event=NoticeKind.RAISED, alert=alert))
        for _ in range(10):
            await asyncio.sleep(0)
        task.cancel()
        return sent

    sent = asyncio.run(main())
    assert bool(sent) is told
    if told:
        assert is_chat(sent[0].event)

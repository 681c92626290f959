"""Webhooks: signed with HMAC-SHA256, retried with a doubling wait under the same
delivery id, given up after the attempts (seen in the health), bounded queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tessera.alerting.model import Alert, AlertNotice, NoticeKind
from tessera.alerting.signing import verify
from tessera.alerting.webhooks import WebhookSender
from tessera.core.alerts.rules import AlertSettings, RuleKind, WebhookTarget
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Label

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SECRET = "a-webhook-secret-of-some-length"
SCHEME = ClassificationScheme()


def alert(alert_id: str = "al-1", label: Label | None = None) -> Alert:
    return Alert(
        id=alert_id,
        picture="NATO",
        rule_id="r",
        kind=RuleKind.NEW_HOSTILE,
        title="new hostile",
        track_id="t1",
        label=label or Label("SECRET", ("NATO",)),
        lat=50.0,
        lon=10.0,
        raised_at=T0,
    )


@dataclass
class Receiver:
    """A loopback HTTP server answering the first ``failures`` requests with 500."""

    failures: int
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    got: asyncio.Event = field(default_factory=asyncio.Event)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((headers, body))
                status = (
                    "500 Internal Server Error"
                    if len(self.requests) <= self.failures
                    else ("200 OK")
                )
                writer.write(f"HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n".encode())
                await writer.drain()
                if status == "200 OK":
                    self.got.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass


def sender_for(url: str, waits: list[float], **options: object) -> WebhookSender:
    target = WebhookTarget(name="ops", url=url, secret=SECRET, picture="NATO")
    settings = AlertSettings(webhooks=(target,), webhook_backoff_s=0.5, **options)  # type: ignore[arg-type]

    async def pause(seconds: float) -> None:
        waits.append(seconds)

    return WebhookSender(settings, SCHEME, lambda: T0, pause=pause)


def test_signed_retried_with_backoff_under_one_id() -> None:
    async def main() -> None:
        receiver = Receiver(failures=3)
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        waits: list[float] = []
        sender = sender_for(f"http://127.0.0.1:{port}/hook", waits)
        await sender.start()
        try:
            sender.offer(AlertNotice(event=NoticeKind.RAISED, alert=alert()))
            await asyncio.wait_for(receiver.got.wait(), 10)
            for _ in range(100_000):  # the sender reads the answer
                if sender.counts()[0]["delivered"]:
                    break
                await asyncio.sleep(0)
            status = sender.status()
        finally:
            await sender.stop()
            server.close()
            await receiver.close()
            await server.wait_closed()
        assert len(receiver.requests) == 4
        assert waits == [0.5, 1.0, 2.0]
        ids = {headers["x-tessera-delivery"] for headers, _ in receiver.requests}
        assert ids == {"al-1.raised"}
        for headers, body in receiver.requests:
            assert verify(SECRET, body, headers["x-tessera-signature"])
            assert not verify("another-secret-entirely", body, headers["x-tessera-signature"])
            assert headers["x-tessera-event"] == "alert.raised"
            sent = json.loads(body)
            assert sent["id"] == "al-1.raised" and sent["alert"]["track_id"] == "t1"
        assert status == "ok"
        (counts,) = sender.counts()
        assert (counts["delivered"], counts["retries"], counts["failed"]) == (1, 3, 0)

    asyncio.run(main())


def test_given_up_after_the_attempts_and_failing_in_health() -> None:
    async def main() -> None:
        receiver = Receiver(failures=100)
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        waits: list[float] = []
        sender = sender_for(f"http://127.0.0.1:{port}/", waits, webhook_attempts=3)
        await sender.start()
        try:
            sender.offer(AlertNotice(event=NoticeKind.RAISED, alert=alert("al-1")))
            sender.offer(AlertNotice(event=NoticeKind.RAISED, alert=alert("al-2")))
            for _ in range(100_000):
                if sender.counts()[0]["failed"] == 2:
                    break
                await asyncio.sleep(0)
        finally:
            await sender.stop()
            server.close()
            await receiver.close()
            await server.wait_closed()
        (counts,) = sender.counts()
        assert counts["failed"] == 2 and counts["last_error"] == "answered 500"
        assert len(receiver.requests) == 6
        assert sender.status() == "failing"

    asyncio.run(main())


def test_bounded_queue_and_only_what_the_target_may_receive() -> None:
    async def main() -> None:
        target = WebhookTarget(
            name="ops",
            url="http://127.0.0.1:9/",
            secret=SECRET,
            picture="NATO",
            label=Label("RESTRICTED", ("NATO",)),
        )
        settings = AlertSettings(webhooks=(target,), webhook_queue=2)
        sender = WebhookSender(settings, SCHEME, lambda: T0)
        low = Label("RESTRICTED", ("NATO", "UKR"))
        for index in range(3):
            sender.offer(AlertNotice(event=NoticeKind.RAISED, alert=alert(f"a{index}", low)))
        sender.offer(AlertNotice(event=NoticeKind.RAISED, alert=alert("secret")))
        (counts,) = sender.counts()
        assert (counts["queued"], counts["dropped"]) == (2, 1)
        assert [n.alert.id for n in sender.queues[0].pending] == ["a1", "a2"]

    asyncio.run(main())

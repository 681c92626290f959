"""A running server's webhooks: an alert raised on the picture reaches a loopback receiver
signed with the configured secret; a delivery given up shows in /health (and is counted
in /status) until one is delivered again."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from tessera.alerting.signing import verify
from tessera.core.model import Identity
from tests.alerting.scenario import NATO_LABEL, Scene, scene
from tests.store.builders import track

SECRET = "a-webhook-secret-of-some-length"


class HeldReceiver:
    """Answers the first request 500; holds the answer to the second until released."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.second = asyncio.Event()
        self.release = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in head.split("\r\n")[1:])
                    if name
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((headers, body))
                status = "500 Internal Server Error"
                if len(self.requests) > 1:
                    self.second.set()
                    await self.release.wait()
                    status = "200 OK"
                writer.write(f"HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n".encode())
                await writer.drain()

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def test_webhooks_of_a_running_server(tmp_path: Path) -> None:
    async def main() -> None:
        receiver = HeldReceiver()
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        hook = {
            "name": "ops",
            "url": f"http://127.0.0.1:{port}/alerts",
            "secret": SECRET,
            "picture": "NATO",
        }
        settings = {"tick_s": 3600.0, "webhooks": [hook], "webhook_attempts": 1}
        try:
            async with scene(tmp_path, alerts=settings) as s:
                await asyncio.wait_for(_scenario(s, receiver), 30)
        finally:
            receiver.release.set()
            server.close()
            await receiver.close()
            await server.wait_closed()

    asyncio.run(main())


async def _scenario(s: Scene, receiver: HeldReceiver) -> None:
    async with s.client("nato") as nato:
        rule = {"kind": "new-hostile", "id": "new", "picture": "NATO"}
        assert (await nato.post("/api/v1/alert-rules", json=rule)).status_code == 201
    async with s.live.client() as admin:

        async def webhooks() -> str:
            answer = await admin.get("/api/v1/health")
            state: str = answer.json()["alerts"]["webhooks"]
            return state

        assert await webhooks() == "ok"
        s.feed("NATO", track("h1", identity=Identity.HOSTILE, label=NATO_LABEL))
        s.feed("NATO", track("h2", identity=Identity.HOSTILE, label=NATO_LABEL))
        # The first delivery was answered 500 and, with one attempt, given up.
        await receiver.second.wait()
        assert await webhooks() == "failing"
        (counts,) = (await admin.get("/api/v1/status")).json()["alerts"]["webhooks"]
        assert counts["failed"] == 1 and counts["last_error"] == "answered 500"
        receiver.release.set()
        for _ in range(100_000):  # the sender reads the answer
            if s.service.webhooks.counts()[0]["delivered"]:
                break
            await asyncio.sleep(0)
        assert await webhooks() == "ok"
    delivered = [json.loads(body)["alert"]["track_id"] for _, body in receiver.requests]
    assert delivered == ["h1", "h2"]
    for headers, body in receiver.requests:
        assert verify(SECRET, body, headers["x-tessera-signature"])

"""The live stream: snapshot then changes, resume with since, filters, slow consumers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tessera.bus.memory import MemoryBus
from tests.support import Live, live_server, report_doc

Scenario = Callable[[Live, httpx.AsyncClient], Awaitable[None]]


def run_live(tmp_path: Path, scenario: Scenario, **overrides: Any) -> None:
    async def main() -> None:
        async with (
            live_server(tmp_path, **overrides) as live,
            live.client(timeout=10) as client,
        ):
            await asyncio.wait_for(scenario(live, client), 60)

    asyncio.run(main())


async def subscribe(live: Live, **subscription: Any) -> ClientConnection:
    connection = await websockets.connect(
        live.ws_url, max_size=None, additional_headers=live.headers
    )
    await connection.send(json.dumps({"type": "subscribe", **subscription}))
    return connection


async def receive(connection: ClientConnection, *types: str) -> dict[str, Any]:
    """The next message of one of ``types`` (heartbeats skipped unless asked for)."""
    while True:
        message: dict[str, Any] = json.loads(await connection.recv())
        if message["type"] in types:
            return message
        assert message["type"] == "heartbeat", message


async def post(live: Live, client: httpx.AsyncClient, docs: list[dict[str, Any]]) -> int:
    """Send ``docs``; the journal position that then holds them."""
    response = await client.post("/api/v1/reports", json=docs)
    assert response.status_code == 202, response.text
    return live.tessera.journal.last_seq


def unit(name: str, lat: float, lon: float = 16.0) -> dict[str, Any]:
    return report_doc(subject=name, source=name, kind="unit", identity="friend", lat=lat, lon=lon)


def test_snapshot_then_changes(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        seq = await post(live, client, [unit("a", 53.0), unit("b", 53.1)])
        await live.tessera.worker.wait_caught_up(seq, 10)
        connection = await subscribe(live)
        snapshot = await receive(connection, "snapshot")
        assert {feature["id"] for feature in snapshot["features"]} == {"sub-a", "sub-b"}
        assert snapshot["seq"] == 2
        await post(live, client, [unit("a", 53.2)])
        changes = await receive(connection, "changes")
        assert [feature["id"] for feature in changes["upserts"]] == ["sub-a"]
        assert changes["seq"] == 3
        assert changes["upserts"][0]["geometry"]["coordinates"][1] > 53.0
        await connection.close()

    run_live(tmp_path, scenario)


def test_resume_with_since_gets_only_what_was_missed(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        await post(live, client, [unit("a", 53.0), unit("b", 53.1)])
        connection = await subscribe(live)
        seen = await receive(connection, "snapshot", "changes")
        while seen["seq"] < 2:
            seen = await receive(connection, "changes")
        await connection.close()
        # While disconnected, b moves twice and c appears.
        seq = await post(live, client, [unit("b", 53.3), unit("c", 53.4)])
        seq = await post(live, client, [unit("b", 53.5)])
        await live.tessera.worker.wait_caught_up(seq, 10)
        resumed = await subscribe(live, since=seen["seq"])
        missed = await receive(resumed, "snapshot", "changes")
        assert missed["type"] == "changes"
        latest = {feature["id"]: feature for feature in missed["upserts"]}
        assert set(latest) == {"sub-b", "sub-c"}, "a did not change and is not resent"
        assert latest["sub-b"]["geometry"]["coordinates"][1] > 53.4, "coalesced to the latest"
        await resumed.close()

    run_live(tmp_path, scenario)


def test_since_outside_the_retained_window_gets_a_fresh_snapshot(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        seq = 0
        for round_ in range(5):
            seq = await post(live, client, [unit(f"u{i}", 53 + round_ / 100 + i) for i in range(3)])
        await live.tessera.worker.wait_caught_up(seq, 10)
        connection = await subscribe(live, since=1)
        first = await receive(connection, "snapshot", "changes")
        assert first["type"] == "snapshot"
        assert len(first["features"]) == 3
        await connection.close()
        future = await subscribe(live, since=10_000)
        assert (await receive(future, "snapshot", "changes"))["type"] == "snapshot"
        await future.close()

    # The window holds the latest change of two items: three tracks changing overflow it.
    run_live(tmp_path, scenario, retained_changes=2)


def test_filters_apply_and_a_track_leaving_the_view_is_removed(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        hostile = report_doc(subject="h", identity="hostile", lat=53.0, lon=16.0)
        await post(live, client, [unit("a", 53.0), hostile])
        connection = await subscribe(live, bbox=[15.0, 52.5, 17.0, 53.5], identity=["friend"])
        snapshot = await receive(connection, "snapshot", "changes")
        ids = {feature["id"] for feature in snapshot.get("features", snapshot.get("upserts", []))}
        assert ids <= {"sub-a"}
        if not ids:
            assert (await receive(connection, "changes"))["upserts"][0]["id"] == "sub-a"
        await post(live, client, [unit("a", 54.0)])
        changes = await receive(connection, "changes")
        assert changes["removes"] == ["sub-a"]
        await connection.close()

    run_live(tmp_path, scenario)


def test_bad_subscriptions_are_answered_and_closed(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        for message in [
            "not json",
            json.dumps({"type": "subscribe", "bbox": [1, 2, 3]}),
            json.dumps({"type": "subscribe", "identity": ["enemy"]}),
            json.dumps({"type": "subscribe", "picture": "NOPE"}),
            json.dumps({"type": "subscribe", "extra": 1}),
        ]:
            connection = await websockets.connect(live.ws_url, additional_headers=live.headers)
            await connection.send(message)
            answer = json.loads(await connection.recv())
            assert answer["type"] == "error" and answer["reason"], message
            await connection.wait_closed()
            assert connection.close_code == 1008

    run_live(tmp_path, scenario)


def small_buffer_socket(live: Live) -> socket.socket:
    """A client socket with a tiny receive buffer, so a client that stops reading is felt
    by the server at once instead of after megabytes of kernel buffering."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = live.base_url.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    return sock


def test_a_stalled_client_neither_delays_others_nor_grows_memory(tmp_path: Path) -> None:
    tracks = 150
    rounds = 80

    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        # The stalled client reads nothing after subscribing; its library buffers at most
        # one message, then TCP pushes back on the server.
        # Uncompressed, so its messages are big enough to fill the buffers quickly.
        stalled = await websockets.connect(
            live.ws_url,
            additional_headers=live.headers,
            max_size=None,
            max_queue=1,
            compression=None,
            sock=small_buffer_socket(live),
        )
        await stalled.send(json.dumps({"type": "subscribe"}))
        fast = await subscribe(live)
        await receive(fast, "snapshot")
        bus = live.tessera.bus
        assert isinstance(bus, MemoryBus)
        latest: dict[str, float] = {}
        largest_backlog = 0
        final_seq = 0
        for round_ in range(rounds):
            docs = [unit(f"u{i:03d}", 50 + round_ / 10, 10 + i / 100) for i in range(tracks)]
            final_seq = await post(live, client, docs)
            await live.tessera.worker.wait_caught_up(final_seq, 10)
            backlogs = [s.pending_count() for s in bus.subscribers("COP")]
            largest_backlog = max(largest_backlog, *backlogs)
        # The fast client reaches the final state of every track.
        while len(latest) < tracks or min(latest.values()) < 50 + (rounds - 1) / 10 - 1e-9:
            message = await receive(fast, "changes")
            for feature in message["upserts"]:
                latest[feature["id"]] = feature["geometry"]["coordinates"][1]
        assert message["seq"] <= live.tessera.bus.last_seq("COP")
        # The stalled one holds at most one pending change per track, however far behind.
        assert 0 < largest_backlog <= tracks
        await fast.close()
        await stalled.close()

    run_live(tmp_path, scenario)


def test_a_second_subscription_is_answered_and_the_first_goes_on(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        connection = await subscribe(live)
        await receive(connection, "snapshot")
        await connection.send(json.dumps({"type": "subscribe", "identity": ["hostile"]}))
        answer = await receive(connection, "error")
        assert "one subscription per connection" in answer["reason"]
        await post(live, client, [unit("a", 53.0)])
        changes = await receive(connection, "changes")
        assert changes["upserts"][0]["id"] == "sub-a"
        await connection.close()

    run_live(tmp_path, scenario)

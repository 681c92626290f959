"""CoT fan-out: many TAK-like clients over TCP, each sending its position once a second and
receiving everyone else's (all see all).

The load generator is the project's own: worker processes each drive a share of the
clients; every position carries its send time, so each receiver measures end-to-end
latency; deliveries are counted against what all-see-all should deliver. The server runs
in its own process on plain TCP (TLS costs the same per connection once established).

    python benchmarks/fanout.py [--clients 500] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import bench_token, start_serving
from benchmarks.peers.procs import enter_netns

MAX_SAMPLES = 200_000
CONNECT_PAUSE_S = 1.0
SENT = re.compile(rb"remarks[>=\"]+sent ([0-9.]+)")


def position(index: int, now: float) -> bytes:
    moment = datetime.fromtimestamp(now, UTC)
    stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    stale = (moment + timedelta(seconds=60)).isoformat(timespec="milliseconds")
    lat = 53.0 + (index % 50) * 0.01
    lon = 16.0 + (index // 50) * 0.01
    return (
        f'<event version="2.0" uid="bench-{index}" type="a-f-G-U-C" how="m-g" '
        f'time="{stamp}" start="{stamp}" stale="{stale.replace("+00:00", "Z")}">'
        f'<point lat="{lat:.5f}" lon="{lon:.5f}" hae="0" ce="10" le="10"/>'
        f'<detail><contact callsign="bench-{index}"/><remarks>sent {now:.4f}</remarks>'
        "</detail></event>"
    ).encode()


class Receiver:
    """Counts what arrives while measuring, and the positions sent inside the window
    (whenever they arrive), with their latency."""

    def __init__(self, window: tuple[float, float], own: bytes = b"") -> None:
        self.window = window
        # Some servers echo a client's own events back: those are not deliveries.
        self.own = own
        self.buffer = b""
        self.deliveries = 0
        self.relayed = 0
        self.latencies: list[float] = []

    def feed(self, data: bytes, now: float) -> None:
        self.buffer += data
        *events, self.buffer = self.buffer.split(b"</event>")
        start, end = self.window
        if self.own:
            events = [event for event in events if self.own not in event]
        if start <= now <= end:
            self.deliveries += len(events)
        for event in events:
            # The send time, in the remarks' text (or attribute: FreeTAKServer moves it).
            stamp = SENT.search(event)
            if stamp is None:
                continue
            sent = float(stamp.group(1))
            if not start <= sent <= end:
                continue
            self.relayed += 1
            if len(self.latencies) < MAX_SAMPLES:
                self.latencies.append(now - sent)


async def client(
    host: str, port: int, index: int, receiver: Receiver, until: float, sent: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    # Stagger the clients over the second, as real ones are, after a second's pause: a
    # server may set up a client's subscription asynchronously on connecting (OpenTAKServer
    # then misses a client's first event for good, and never sends it anything).
    next_send = time.time() + CONNECT_PAUSE_S + random.random()

    async def read() -> None:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                return
            receiver.feed(data, time.time())

    reading = asyncio.create_task(read())
    try:
        while time.time() < until:
            await asyncio.sleep(max(0.0, next_send - time.time()))
            now = time.time()
            writer.write(position(index, now))
            if receiver.window[0] <= now <= receiver.window[1]:
                sent[0] += 1
            next_send += 1.0
        await asyncio.sleep(2.0)  # let the last positions arrive
    finally:
        reading.cancel()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def own_uid(index: int) -> bytes:
    return f'uid="bench-{index}"'.encode()


def worker(args: tuple[str, int, list[int], tuple[float, float], Any, str | None]) -> None:
    host, port, indices, window, results, netns = args
    # A peer in a network namespace of its own is reached from inside it.
    enter_netns(netns)
    # Writes to a peer that has gone (at the end of a run) are expected, not news.
    logging.getLogger("asyncio").setLevel(logging.ERROR)

    async def main() -> dict[str, Any]:
        receivers = [Receiver(window, own_uid(index)) for index in indices]
        sent = [0]
        tasks = [
            asyncio.create_task(client(host, port, index, receiver, window[1], sent))
            for index, receiver in zip(indices, receivers, strict=True)
        ]
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "sent": sent[0],
            "deliveries": sum(r.deliveries for r in receivers),
            "relayed": sum(r.relayed for r in receivers),
            "latencies": [x for r in receivers for x in r.latencies][:MAX_SAMPLES],
        }

    results.put(asyncio.run(main()))


async def _serve(clients: int) -> tuple[str, int, Any]:
    data = tempfile.mkdtemp(prefix="tessera-fanout-")
    await bench_token(data)
    config = Path(data) / "tessera.toml"
    config.write_text('cot_tcp_principal = "bench"\n')
    return data, clients, config


def bare_relay(port_out: Any) -> None:
    """The baseline: the least a relay can do. Cut the stream at ``</event>`` and write each
    event to every other connection, with no parsing, no identity, no picture."""

    logging.getLogger("asyncio").setLevel(logging.ERROR)

    async def main() -> None:
        clients: set[asyncio.StreamWriter] = set()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            clients.add(writer)
            buffer = b""
            try:
                while data := await reader.read(1 << 16):
                    buffer += data
                    *events, buffer = buffer.split(b"</event>")
                    for event in events:
                        whole = event + b"</event>"
                        for other in clients:
                            if other is not writer:
                                other.write(whole)
            finally:
                clients.discard(writer)

        server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
        port_out.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


@contextlib.contextmanager
def _target(kind: str, clients: int) -> Iterator[tuple[str, int]]:
    if kind == "baseline":
        port_out: Any = multiprocessing.Queue()
        relay = multiprocessing.Process(target=bare_relay, args=(port_out,), daemon=True)
        relay.start()
        try:
            yield "127.0.0.1", port_out.get(timeout=30)
        finally:
            relay.terminate()
            relay.join(timeout=10)
        return
    data, _, config = asyncio.run(_serve(clients))
    server, ports = start_serving(data, "--config", str(config), "--cot-port", "0")
    try:
        yield ports["cot"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(
    clients: int = 500, seconds: float = 20.0, warmup: float = 5.0, target: str = "tessera"
) -> dict[str, float]:
    with _target(target, clients) as (host, port):
        return measure_at(host, port, clients, seconds, warmup)


def measure_at(
    host: str,
    port: int,
    clients: int,
    seconds: float,
    warmup: float = 5.0,
    netns: str | None = None,
) -> dict[str, float]:
    """The fan-out load against a server already listening on ``host:port`` (reached from
    inside the network namespace ``netns`` if given)."""
    processes = min(4, max(1, (multiprocessing.cpu_count() or 2)), clients)
    shares = [list(range(clients))[i::processes] for i in range(processes)]
    results: Any = multiprocessing.Queue()
    # One window for every worker: positions sent inside it are the ones counted.
    start = time.time() + warmup
    window = (start, start + seconds)
    workers = [
        multiprocessing.Process(target=worker, args=((host, port, share, window, results, netns),))
        for share in shares
    ]
    for process in workers:
        process.start()
    try:
        outcomes = [results.get(timeout=warmup + seconds + 120) for _ in workers]
    finally:
        for process in workers:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
    sent = sum(o["sent"] for o in outcomes)
    elapsed = seconds
    latencies = sorted(x for o in outcomes for x in o["latencies"])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    expected = sent * (clients - 1)
    return {
        "clients": clients,
        "sent": sent,
        "relayed": sum(o["relayed"] for o in outcomes),
        "sent_per_s": sent / elapsed,
        # Everything the clients received while measuring: positions and fused tracks.
        "delivered_per_s": sum(o["deliveries"] for o in outcomes) / elapsed,
        "relayed_per_s": sum(o["relayed"] for o in outcomes) / elapsed,
        "delivery_ratio": sum(o["relayed"] for o in outcomes) / expected if expected else 0.0,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def markdown_table(tak: dict[str, float], bare: dict[str, float]) -> str:
    def row(name: str, figures: dict[str, float]) -> str:
        return (
            f"| {name} | {figures['delivered_per_s']:,.0f} | {figures['delivery_ratio']:.1%} "
            f"| {figures['p50_ms']:,.0f} ms | {figures['p99_ms']:,.0f} ms |"
        )

    ratio = tak["delivered_per_s"] / bare["delivered_per_s"]
    return "\n".join(
        [
            "| server | events delivered/s | delivery ratio | p50 | p99 |",
            "|---|---:|---:|---:|---:|",
            row("Tessera", tak),
            row("baseline: bare relay, a write per event", bare),
            f"| ratio (Tessera / baseline) | {ratio:.1f}x | | | |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--target", choices=["tessera", "baseline"], default="tessera")
    args = parser.parse_args()
    print(measure(args.clients, args.seconds, target=args.target), file=sys.stdout)


if __name__ == "__main__":
    main()

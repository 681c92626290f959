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
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import bench_token, start_serving

MAX_SAMPLES = 200_000


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
    def __init__(self) -> None:
        self.buffer = b""
        self.deliveries = 0
        self.relayed = 0
        self.latencies: list[float] = []
        self.measuring = False

    def feed(self, data: bytes, now: float) -> None:
        self.buffer += data
        *events, self.buffer = self.buffer.split(b"</event>")
        if not self.measuring:
            return
        self.deliveries += len(events)
        for event in events:
            mark = event.find(b"<remarks>sent ")
            if mark < 0:
                continue
            end = event.find(b"<", mark + 14)
            self.relayed += 1
            if len(self.latencies) < MAX_SAMPLES:
                self.latencies.append(now - float(event[mark + 14 : end]))


async def client(
    host: str, port: int, index: int, receiver: Receiver, until: float, sent: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    # Stagger the clients over the second, as real ones are.
    next_send = time.time() + random.random()

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
            writer.write(position(index, time.time()))
            if receiver.measuring:
                sent[0] += 1
            next_send += 1.0
        await asyncio.sleep(2.0)  # let the last positions arrive
    finally:
        reading.cancel()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def worker(args: tuple[str, int, list[int], float, float, Any]) -> None:
    host, port, indices, warmup, seconds, results = args

    async def main() -> dict[str, Any]:
        receivers = [Receiver() for _ in indices]
        sent = [0]
        until = time.time() + warmup + seconds
        tasks = [
            asyncio.create_task(client(host, port, index, receiver, until, sent))
            for index, receiver in zip(indices, receivers, strict=True)
        ]
        await asyncio.sleep(warmup)
        for receiver in receivers:
            receiver.measuring = True
        started = time.time()
        await asyncio.sleep(seconds)
        elapsed = time.time() - started
        for receiver in receivers:
            receiver.measuring = False
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "sent": sent[0],
            "deliveries": sum(r.deliveries for r in receivers),
            "relayed": sum(r.relayed for r in receivers),
            "latencies": [x for r in receivers for x in r.latencies][:MAX_SAMPLES],
            "elapsed": elapsed,
        }

    results.put(asyncio.run(main()))


async def _serve(clients: int) -> tuple[str, int, Any]:
    data = tempfile.mkdtemp(prefix="tessera-fanout-")
    await bench_token(data)
    config = Path(data) / "tessera.toml"
    config.write_text('cot_tcp_principal = "bench"\n')
    return data, clients, config


def measure(clients: int = 500, seconds: float = 20.0, warmup: float = 5.0) -> dict[str, float]:
    data, _, config = asyncio.run(_serve(clients))
    server, ports = start_serving(data, "--config", str(config), "--cot-port", "0")
    try:
        host, port = ports["cot"]
        processes = min(4, max(1, (multiprocessing.cpu_count() or 2)))
        shares = [list(range(clients))[i::processes] for i in range(processes)]
        results: Any = multiprocessing.Queue()
        workers = [
            multiprocessing.Process(
                target=worker, args=((host, port, share, warmup, seconds, results),)
            )
            for share in shares
        ]
        for process in workers:
            process.start()
        outcomes = [results.get(timeout=warmup + seconds + 120) for _ in workers]
        for process in workers:
            process.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
    sent = sum(o["sent"] for o in outcomes)
    elapsed = max(o["elapsed"] for o in outcomes)
    latencies = sorted(x for o in outcomes for x in o["latencies"])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    expected = sent * (clients - 1)
    return {
        "clients": clients,
        "sent_per_s": sent / elapsed,
        "delivered_per_s": sum(o["deliveries"] for o in outcomes) / elapsed,
        "delivery_ratio": sum(o["relayed"] for o in outcomes) / expected if expected else 0.0,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(measure(args.clients, args.seconds), file=sys.stdout)


if __name__ == "__main__":
    main()

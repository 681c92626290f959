"""The peers' benchmark harness on a small N: it starts and stops each server (nothing of it
left running), and counts deliveries right: a known number of events in, the same number
counted out. No timing thresholds: timings are for BENCHMARKS.md, never assertions.

The peers are installed once into build/peers/ (a few minutes on a cold machine; stamped,
so later runs start at once)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from benchmarks.fanout import Receiver, measure_at, own_uid, position
from benchmarks.peers import bench
from benchmarks.peers.bench import QUICK, fanout_steps
from benchmarks.peers.ingest_tcp import measure_ingest
from benchmarks.peers.procs import alive
from benchmarks.peers.report import SECTION, SUMMARY, write
from benchmarks.peers.servers import SERVERS, Running

from tests.postgis.databases import require_postgis
from tests.services import require_service


def test_receiver_counts_other_clients_positions_not_its_own_echo() -> None:
    now = time.time()
    receiver = Receiver((now - 10, now + 10), own_uid(3))
    mine = position(3, now)
    others = [position(index, now) for index in (1, 2, 30)]
    # FreeTAKServer's form: the remarks moved into an attribute.
    moved = position(4, now).replace(b"<remarks>sent ", b'<remarks remarks="sent ')
    moved = moved.replace(b"</remarks>", b'"></remarks>')
    stream = mine + b"".join(others) + mine + moved
    # Cut anywhere: events split across reads still count once.
    receiver.feed(stream[:37], now)
    receiver.feed(stream[37:], now)
    assert receiver.relayed == 4 and receiver.deliveries == 4
    assert len(receiver.latencies) == 4


def test_steps_stop_at_the_first_n_under_half_delivered(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextmanager
    def fake_server() -> Iterator[Running]:
        yield Running("fake", "1", "127.0.0.1", 9, [], "fake", "none")

    def half_less(host: str, port: int, clients: int, *_: Any) -> dict[str, float]:
        ratio = 1.0 if clients < 50 else 0.4
        return {"clients": clients, "delivery_ratio": ratio}

    monkeypatch.setitem(SERVERS, "fake", fake_server)
    monkeypatch.setattr(bench, "measure_at", half_less)
    plan = bench.Plan((10, 50, 100), 1.0, 0.0, 1, 1.0, 1, 1)
    outcome = fanout_steps("fake", plan, log=io.StringIO())
    assert [row["clients"] for row in outcome["rows"]] == [10, 50]
    assert "stopped after N=50" in outcome["stopped"]


def test_a_peer_that_fails_is_reported_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing() -> AbstractContextManager[Running]:
        raise RuntimeError("address already in use")

    monkeypatch.setitem(SERVERS, "fake", failing)
    outcome = fanout_steps("fake", QUICK, log=io.StringIO())
    assert outcome["rows"] == []
    assert "address already in use" in outcome["error"]
    assert "address already in use" in bench.ingest("fake", QUICK, log=io.StringIO())["error"]


def test_the_report_writes_summary_and_section(tmp_path: Path) -> None:
    row = {
        "clients": 10, "relayed_per_s": 90.0, "delivery_ratio": 1.0, "p50_ms": 2.0,
        "p99_ms": 9.0, "cpu_percent": 5.0, "peak_rss_mb": 100.0,
    }  # fmt: skip
    slow = {**row, "relayed_per_s": 30.0, "delivery_ratio": 0.3}
    results = {
        "when": "today", "plan": QUICK.__dict__ | {"steps": [10]}, "minutes": 1.0,
        "fanout": {
            "tessera": {"rows": [row], "describe": "Tessera x", "settings": "s"},
            "fts": {"rows": [slow], "stopped": "stopped after N=10"},
            "ots": {"rows": [], "error": "at N=10: PeerError: OpenTAKServer exited"},
        },
        "ingest": {
            "tessera": {"sent": 9, "seen": 9, "ratio": 1.0, "events_per_s": 900.0,
                        "cpu_percent": 1.0, "peak_rss_mb": 1.0},
            "fts": {"sent": 9, "seen": 9, "ratio": 1.0, "events_per_s": 90.0,
                    "cpu_percent": 1.0, "peak_rss_mb": 1.0},
            "ots": {"error": "RuntimeError: nothing arrived"},
        },
        "ogc": {"tracks": 5, "tessera": {"items_per_s": 50.0, "bbox_items": 2,
                "bbox_p50_ms": 1.0, "bbox_p99_ms": 2.0}, "pygeoapi_error": "PeerError: x"},
    }  # fmt: skip
    page = tmp_path / "BENCHMARKS.md"
    page.write_text("# Benchmarks\n\nintro\n\n## Ingest\n\nx\n\n## Fusion\n\ny\n")
    write(results, page)
    write(results, page)  # twice: replaced, not repeated
    text = page.read_text()
    assert text.count(SUMMARY) == 1 and text.count(SECTION) == 1
    assert text.index(SUMMARY) < text.index("## Ingest") < text.index(SECTION)
    assert text.index(SECTION) < text.index("## Fusion")
    assert "| CoT ingest over TCP: events/s seen by a subscriber | 900 " in text
    assert "FreeTAKServer: 90 | 10.0x |" in text
    assert "OpenTAKServer exited" in text and "nothing arrived" in text
    assert "Failed: PeerError: x" in text


def _services(name: str) -> None:
    if name == "ots":
        require_postgis()
        require_service("RabbitMQ", "127.0.0.1", 5672)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ["tessera", "fts", "ots"])
def test_each_server_starts_counts_and_stops(name: str) -> None:
    _services(name)
    with SERVERS[name]() as running:
        pids = running.pids()
        assert pids
        # A known number of events in, the same number counted out (bounded wait).
        ingest = measure_ingest(running.host, running.port, 50, 120.0, running.netns)
        assert (ingest["sent"], ingest["seen"]) == (50, 50)
        fanout = measure_at(running.host, running.port, 3, 3.0, 2.0, running.netns)
        # Every position counted went to another client, none to its sender.
        assert 0 < fanout["relayed"] <= fanout["sent"] * 2
        running.check_alive()
        pids = running.pids()
    assert alive(pids) == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ogc_both_serve_the_same_tracks() -> None:
    require_postgis()
    require_service("NATS", "127.0.0.1", 4222)
    from benchmarks.peers import ogc

    outcome = ogc.measure(tracks=200, queries=3)
    assert "pygeoapi_error" not in outcome, outcome
    tessera, pygeoapi = outcome["tessera"], outcome["pygeoapi"]
    # Tessera on PostGIS and pygeoapi on its very table serve the same tracks, and the
    # same ones match the box; the embedded default agrees.
    assert tessera["items"] == pygeoapi["items"] == outcome["tessera_embedded"]["items"] == 200
    assert tessera["bbox_items"] == pygeoapi["bbox_items"] > 0
    assert outcome["tessera_embedded"]["bbox_items"] == tessera["bbox_items"]
    json.dumps(outcome)

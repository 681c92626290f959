"""ADS-B feeds end to end: an SBS-1 server and an aircraft.json endpoint on loopback
become aircraft tracks on the stream, keyed by ICAO address and named by callsign."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tessera.alerting.model import AlertNotice, NoticeKind
from tests.codecs.test_adsb import sbs
from tests.transports.feeds.support import feed, feed_server, run, stream


def test_an_sbs_stream_becomes_aircraft_tracks(tmp_path: Path) -> None:
    async def scenario() -> None:
        done = asyncio.Event()

        async def basestation(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(sbs("48520A", callsign="LOT3RK", kind=1) + b"\r\n")
            writer.write(sbs("48520A", lat="54.3", squawk="7700") + b"\r\n")
            writer.write(b"not sbs at all\r\n")
            await writer.drain()
            await done.wait()  # a BaseStation keeps the connection open
            writer.close()

        server = await asyncio.start_server(basestation, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = feed("adsb-sbs", "adsb-sbs", f"tcp://127.0.0.1:{port}")
        async with server, feed_server(tmp_path, config) as (live, feeds), stream(live) as seen:
            await seen.until(lambda s: "icao-48520a" in s.subjects(), "the aircraft")
            aircraft = seen.subjects()["icao-48520a"]
            assert aircraft["properties"]["name"] == "LOT3RK"
            assert aircraft["properties"]["sidc"][4:6] == "01"  # air
            assert round(aircraft["geometry"]["coordinates"][2]) == round(35000 * 0.3048)
            status = feeds.runners[0].status
            assert status.connected and status.problems == {"not an SBS-1 MSG line": 1}
            done.set()

    run(scenario())


def test_aircraft_json_is_polled(tmp_path: Path) -> None:
    async def scenario() -> None:
        document = {
            "now": 1.0,
            "aircraft": [
                {"hex": "3c6444", "flight": "DLH2TK", "alt_baro": 33000, "gs": 440.0,
                 "track": 85.0, "lat": 54.4, "lon": 15.9, "seen_pos": 0.4},
            ],
        }  # fmt: skip
        body = json.dumps(document).encode()

        async def readsb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
            writer.write(head.encode() + b"content-type: application/json\r\n\r\n" + body)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(readsb, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        address = f"http://127.0.0.1:{port}/data/aircraft.json"
        config = feed("adsb-json", "adsb-json", address, poll_s=0.1)
        async with server, feed_server(tmp_path, config) as (live, _feeds), stream(live) as seen:
            await seen.until(lambda s: "icao-3c6444" in s.subjects(), "the aircraft")
            assert seen.subjects()["icao-3c6444"]["properties"]["name"] == "DLH2TK"

    run(scenario())


def test_an_emergency_squawk_raises_an_alert_and_its_end_clears_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        go_on = asyncio.Event()
        done = asyncio.Event()

        async def basestation(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(sbs("48520A", lat="54.3", squawk="7700") + b"\r\n")
            await writer.drain()
            await go_on.wait()
            writer.write(sbs("48520A", lat="54.31", squawk="2000") + b"\r\n")
            await writer.drain()
            await done.wait()
            writer.close()

        server = await asyncio.start_server(basestation, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = feed("adsb-sbs", "adsb-sbs", f"tcp://127.0.0.1:{port}")
        alerts = {"rules": [{"id": "sos", "picture": "COP", "kind": "emergency"}]}
        async with server, feed_server(tmp_path, config, alerts=alerts) as (live, _feeds):
            inbox = live.tessera.alerts.feed.listen()

            async def next_notice() -> AlertNotice:
                while True:
                    for notice in await inbox.take():
                        return notice

            raised = await asyncio.wait_for(next_notice(), 20)
            assert raised.event is NoticeKind.RAISED and raised.alert.rule_id == "sos"
            go_on.set()
            cleared = await asyncio.wait_for(next_notice(), 20)
            assert cleared.event is NoticeKind.CLEARED
            done.set()

    run(scenario())

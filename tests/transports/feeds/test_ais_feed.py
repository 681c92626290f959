"""AIS feeds end to end: sentences on loopback (a UDP listener, a TCP server the feed
connects to, a recording) become tracks on the stream, keyed by MMSI and named by their
static data; garbage is counted and the feed goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.codecs.test_ais import GPSD_TYPE1, GPSD_TYPE5, PYAIS_TYPE19, lines, position
from tests.transports.feeds.support import bound_port, feed, feed_server, run, stream, until


def test_udp_sentences_become_tracks_on_the_stream(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = feed("coast-ais", "ais", "udp://127.0.0.1:0")
        async with feed_server(tmp_path, config) as (live, feeds), stream(live) as seen:
            status = feeds.runners[0].status
            port = await bound_port(status)
            loop = asyncio.get_running_loop()
            sender, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port)
            )
            sender.sendto(b"garbage\n")
            sender.sendto(lines(*GPSD_TYPE5))  # names 369190000
            sender.sendto(lines(position(369190000, 54.2, 15.5), PYAIS_TYPE19))
            await seen.until(
                lambda s: {"mmsi-369190000", "mmsi-367059850"} <= set(s.subjects()),
                "both vessels",
            )
            sender.close()
            ship = seen.subjects()["mmsi-369190000"]["properties"]
            assert ship["name"] == "MT.MITCHELL (WDA9674)"
            assert ship["identity"] == "neutral" and ship["sidc"][4:6] == "30"
            assert ship["sources"] == [{"id": "coast-ais", "kind": "ais"}]
            assert ship["grading"] == "C3"
            assert status.problems == {"not an AIS sentence": 1}
            async with live.client() as client, httpx.AsyncClient() as anybody:
                listed = (await client.get("/api/v1/feeds")).json()["feeds"]
                health = (await anybody.get(f"{live.base_url}/api/v1/health")).json()
            assert listed[0]["name"] == "coast-ais" and listed[0]["connected"] is True
            assert listed[0]["messages"] == 3 and listed[0]["errors"] == 1
            assert listed[0]["last_message_at"] is not None
            assert health["feeds"] == {"configured": 1, "connected": 1}

    run(scenario())


def test_a_tcp_feed_reconnects_after_its_server_drops_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        served = 0

        async def ais_server(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal served
            served += 1
            lat = 54.2 + served / 100
            writer.write(lines(position(261000001, lat, 15.6)))
            await writer.drain()
            writer.close()  # drop the feed: it must come back

        server = await asyncio.start_server(ais_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = feed("ais-tcp", "ais", f"tcp://127.0.0.1:{port}", backoff_s=0.05)
        async with server, feed_server(tmp_path, config) as (live, feeds), stream(live) as seen:
            await until(lambda: served >= 2, "a reconnection")
            await seen.until(lambda s: "mmsi-261000001" in s.subjects(), "the vessel")
            assert feeds.runners[0].status.reconnects >= 1

    run(scenario())


def test_a_recording_is_read_to_its_end(tmp_path: Path) -> None:
    async def scenario() -> None:
        recording = tmp_path / "coast.nmea"
        recording.write_bytes(lines(GPSD_TYPE1, *GPSD_TYPE5, b"!AIVDM,1,1,,B,broken,0*00"))
        config = feed("ais-file", "ais", recording.as_uri())
        async with (
            feed_server(tmp_path / "data", config) as (live, feeds),
            stream(live) as seen,
        ):
            status = feeds.runners[0].status
            await seen.until(lambda s: "mmsi-477553000" in s.subjects(), "the vessel")
            await until(lambda: status.state == "finished", "the end of the recording")
            assert status.messages == 2 and status.errors == 1

    run(scenario())

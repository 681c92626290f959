"""MAVLink feeds end to end: a drone on loopback (sending to the feed's UDP port, or
serving TCP as an autopilot does) becomes its own friendly air track on the stream, and
its camera's footprint an area overlay beside it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.codecs.test_mavlink import LAT, LON, drone, mount, position
from tests.transports.feeds.support import bound_port, feed, feed_server, run, stream


def test_a_drone_over_udp_shows_its_track_and_its_footprint(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = feed("uav-mav", "mavlink", "udp://127.0.0.1:0")
        async with feed_server(tmp_path, config) as (live, feeds), stream(live) as seen:
            port = await bound_port(feeds.runners[0].status)
            loop = asyncio.get_running_loop()
            sender, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port)
            )
            enc = drone(7)
            sender.sendto(position(enc))
            sender.sendto(b"\xfe\x05not mavlink")
            sender.sendto(mount(enc, -60.0))
            await seen.until(
                lambda s: "uav-mav:mav-7" in s.subjects() and bool(s.overlays),
                "the drone and its footprint",
            )
            sender.close()
            track = seen.subjects()["uav-mav:mav-7"]["properties"]
            assert track["identity"] == "friend" and track["sidc"][4:6] == "01"
            assert track["sources"] == [{"id": "uav-mav", "kind": "unit"}]
            [footprint] = seen.overlays.values()
            assert footprint["geometry"]["type"] == "Polygon"
            ring = footprint["geometry"]["coordinates"][0]
            assert len(ring) == 5 and ring[0] == ring[-1]
            assert all(abs(lon - LON) < 0.01 and abs(lat - LAT) < 0.01 for lon, lat in ring)

    run(scenario())


def test_a_drone_serving_tcp(tmp_path: Path) -> None:
    async def scenario() -> None:
        done = asyncio.Event()

        async def autopilot(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            enc = drone(3)
            writer.write(position(enc, lat=54.2) + mount(enc, -90.0))
            await writer.drain()
            await done.wait()
            writer.close()

        server = await asyncio.start_server(autopilot, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = feed("uav-tcp", "mavlink", f"tcp://127.0.0.1:{port}")
        async with server, feed_server(tmp_path, config) as (live, _feeds), stream(live) as seen:
            await seen.until(
                lambda s: "uav-tcp:mav-3" in s.subjects() and bool(s.overlays),
                "the drone and its footprint",
            )
            done.set()

    run(scenario())

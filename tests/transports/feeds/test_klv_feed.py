"""KLV feeds end to end: ST 0601 packets over UDP, and an MPEG-TS recording's KLV stream,
become the platform's track, its footprint overlay and the target it reports."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tessera.codecs.klv import encode_packet
from tessera.codecs.mpegts import packetise
from tests.transports.feeds.support import bound_port, feed, feed_server, run, stream

CORNERS = {"corner_lat_1": 54.11, "corner_lon_1": 15.70, "corner_lat_2": 54.11,
           "corner_lon_2": 15.74, "corner_lat_3": 54.09, "corner_lon_3": 15.74,
           "corner_lat_4": 54.09, "corner_lon_4": 15.70}  # fmt: skip


def packet(lat: float = 54.05) -> bytes:
    values = {"sensor_lat": lat, "sensor_lon": 15.6, "sensor_alt": 1500.0,
              "platform_heading": 45.0, "ground_speed": 40.0, "target_lat": 54.1,
              "target_lon": 15.72, **CORNERS}  # fmt: skip
    return encode_packet(values, texts={"designation": "Reaper 7"})


def test_klv_over_udp(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = feed("isr-klv", "klv", "udp://127.0.0.1:0")
        async with feed_server(tmp_path, config) as (live, feeds), stream(live) as seen:
            port = await bound_port(feeds.runners[0].status)
            loop = asyncio.get_running_loop()
            sender, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port)
            )
            sender.sendto(packet())
            await seen.until(
                lambda s: (
                    "isr-klv:klv-Reaper-7" in s.subjects()
                    and bool(s.overlays)
                    and len(s.tracks) == 2
                ),
                "the platform, its footprint and its target",
            )
            sender.close()
            platform = seen.subjects()["isr-klv:klv-Reaper-7"]["properties"]
            assert platform["identity"] == "friend" and platform["name"] == "Reaper 7"
            [target] = [f for f in seen.tracks.values() if not f["properties"]["subject"]]
            assert target["properties"]["identity"] != "friend"
            [footprint] = seen.overlays.values()
            assert len(footprint["geometry"]["coordinates"][0]) == 5

    run(scenario())


def test_klv_in_an_mpeg_ts_recording(tmp_path: Path) -> None:
    async def scenario() -> None:
        recording = tmp_path / "sortie.ts"
        data = b"".join(packetise(0x1F1, packet(54.0 + n / 100), counter=n) for n in range(4))
        recording.write_bytes(data + b"\x47garbage")
        config = feed("isr-ts", "klv-ts", recording.as_uri())
        async with (
            feed_server(tmp_path / "data", config) as (live, feeds),
            stream(live) as seen,
        ):
            await seen.until(
                lambda s: "isr-ts:klv-Reaper-7" in s.subjects() and bool(s.overlays),
                "the platform and its footprint",
            )
            assert feeds.runners[0].status.messages >= 3

    run(scenario())

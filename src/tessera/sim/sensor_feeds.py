"""The exercise's sensor feeds, simulated on loopback for ``tessera demo``: ships off the
coast near Kołobrzeg (AIS over UDP), airliners crossing (SBS-1 over TCP, served here for
the feed to connect to) and a drone whose camera sweeps the hostile column on the
Szczecinek-Bydgoszcz road (MAVLink over UDP)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import socket
from collections.abc import Callable
from typing import Any, Final

from tessera.sim.geo import ROADS, Route, jitter

FEED_PRINCIPAL: Final = "exercise-feed"
LABEL: Final = {"classification": "UNCLASSIFIED", "releasable_to": ["NATO", "UKR"]}
KOLOBRZEG: Final = (54.30, 15.55)  # a few miles off the harbour
SHIPS: Final = (
    ("BALTIC TRADER", "SPBT", 70), ("NORDIC STAR", "OZNS", 80), ("WOLIN", "SQWL", 60),
    ("KOLOBRZEG 12", "SPK12", 30), ("SKANDIA", "SEKS", 70), ("ORP SLAZAK", "SPSL", 35),
    ("POMERANIA", "SPPO", 60), ("AMBER", "LYAM", 37), ("MORSKA", "SPMO", 52),
    ("GRYF", "SPGR", 30),
)  # fmt: skip
AIRLINERS: Final = (("LOT3RK", 0x48AE21), ("SAS1823", 0x4ACA12), ("RYR4TX", 0x4CA2D6),
                    ("DLH2TK", 0x3C6444), ("FIN6HJ", 0x461E1F), ("WZZ1102", 0x471F8A))  # fmt: skip
COLUMN_HEAD_M: Final = 20_000.0
COLUMN_SPEED: Final = 8.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_feeds(sbs_port: int) -> list[dict[str, Any]]:
    """The demo's ``[[feeds]]``: the feeds listen on UDP ports they pick; the SBS feed
    connects to the simulator."""
    common = {"principal": FEED_PRINCIPAL, "label": LABEL}
    return [
        {"name": "coast-ais", "kind": "ais", "address": "udp://127.0.0.1:0", "grading": "B2",
         **common},
        {"name": "adsb-sbs", "kind": "adsb-sbs", "address": f"tcp://127.0.0.1:{sbs_port}",
         "grading": "B2", **common},
        {"name": "uav-mavlink", "kind": "mavlink", "address": "udp://127.0.0.1:0",
         "grading": "A2", "min_interval_s": 1.0, **common},
    ]  # fmt: skip


def ais_second(t: float, rng: random.Random) -> bytes:
    from pyais.encode import encode_dict

    lines: list[str] = []
    for index, (name, callsign, ship_type) in enumerate(SHIPS):
        mmsi = 261_000_100 + index
        heading = (index * 37) % 360
        speed_kn = 4 + index % 9
        distance = speed_kn * 1852 / 3600 * t
        east = math.sin(math.radians(heading)) * distance + (index - 5) * 2500
        north = math.cos(math.radians(heading)) * distance + (index % 3) * 3000
        lat, lon = jitter(KOLOBRZEG[0], KOLOBRZEG[1], east % 40_000 - 20_000, north % 20_000)
        position: dict[str, str | int | float | bytes | bool] = {
            "type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": speed_kn,
            "course": heading, "heading": heading,
        }  # fmt: skip
        lines += encode_dict(position, talker_id="AI", sentence_type="VDM")
        if int(t) % 30 == index % 30:
            static: dict[str, str | int | float | bytes | bool] = {
                "type": 5, "mmsi": mmsi, "shipname": name, "callsign": callsign,
                "ship_type": ship_type,
            }  # fmt: skip
            lines += encode_dict(static, talker_id="AI", sentence_type="VDM")
    return ("\r\n".join(lines) + "\r\n").encode()


def sbs_second(t: float) -> bytes:
    lines = []
    for index, (callsign, icao) in enumerate(AIRLINERS):
        track = 90.0 + index * 60.0
        distance = 230.0 * (t + index * 200) % 400_000 - 200_000
        lat, lon = jitter(53.9, 16.8, distance * math.sin(math.radians(track)),
                          distance * math.cos(math.radians(track)))  # fmt: skip
        fields = ["MSG", "3", "1", "1", f"{icao:06X}", "1", "", "", "", "", callsign,
                  str(33000 + 1000 * index), "447", f"{track % 360:.1f}", f"{lat:.5f}",
                  f"{lon:.5f}", "", "", "0", "0", "0", "0"]  # fmt: skip
        lines.append(",".join(fields))
    return ("\r\n".join(lines) + "\r\n").encode()


def mavlink_second(t: float, encoder: Any) -> list[bytes]:
    """The drone orbiting 1.5 km from the column's head at 800 m, its camera on it."""
    head_lat, head_lon, _course = Route(ROADS["szczecinek-bydgoszcz"]).at(
        COLUMN_HEAD_M + COLUMN_SPEED * t
    )
    angle = t / 60.0 * 2 * math.pi
    lat, lon = jitter(head_lat, head_lon, 1500 * math.sin(angle), 1500 * math.cos(angle))
    bearing = (math.degrees(angle) + 180.0) % 360.0  # back towards the column
    sweep = 12.0 * math.sin(t / 5.0)  # along the column and back
    frames = [
        encoder.global_position_int_encode(
            int(t * 1000) & 0xFFFFFFFF, round(lat * 1e7), round(lon * 1e7), 900_000, 800_000,
            round(-15.7 * 100 * math.cos(angle)), round(15.7 * 100 * math.sin(angle)), 0,
            round((math.degrees(angle) + 90.0) % 360 * 100),
        ),
        encoder.mount_orientation_encode(
            int(t * 1000) & 0xFFFFFFFF, 0.0, -28.0, 0.0, (bearing + sweep) % 360 or 0.01
        ),
    ]  # fmt: skip
    return [bytes(frame.pack(encoder)) for frame in frames]


async def run_sensor_feeds(
    ports: Callable[[str], int | None], sbs_port: int, seed: int = 1
) -> None:
    """Feed the demo's feeds once a second until cancelled; ``ports(name)`` is the UDP
    port a feed listens on (None until it does)."""
    from pymavlink.dialects.v20 import common as mavlink

    rng = random.Random(seed)
    clients: set[asyncio.StreamWriter] = set()

    async def basestation(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        clients.add(writer)

    server = await asyncio.start_server(basestation, "127.0.0.1", sbs_port)
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    encoder = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    started = loop.time()
    try:
        while True:
            t = loop.time() - started
            ais_port, mav_port = ports("coast-ais"), ports("uav-mavlink")
            if ais_port is not None:
                sender.sendto(ais_second(t, rng), ("127.0.0.1", ais_port))
            if mav_port is not None:
                for frame in mavlink_second(t, encoder):
                    sender.sendto(frame, ("127.0.0.1", mav_port))
            lines = sbs_second(t)
            for writer in list(clients):
                if writer.is_closing():
                    clients.discard(writer)
                else:
                    writer.write(lines)
            await asyncio.sleep(1.0)
    finally:
        sender.close()
        for writer in clients:
            writer.close()
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()

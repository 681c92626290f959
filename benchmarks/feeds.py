"""Sensor feeds: messages per second decoded, and decoded then fused, on one core.

Usage: python benchmarks/feeds.py [--quick] [--write]

Per feed kind, a bounded recording is made first (not timed): ``objects`` things each
reporting once a second for ``seconds`` seconds. Then, timed: the feed's decoder over the
whole recording in 64 KiB pieces (decoded); and the decoder, the reports the feed makes of
what it decoded (its label, grading, ids scoped to its principal, as the journal keeps
them) and fusion in one-second micro-batches (decoded and fused). No journal, no network:
the figure is what one core does between the socket and the picture. Timed in CPU time
of this process (one thread), so that on a shared, loaded machine the time spent waiting
for a core does not count against the feed.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import measured_when, write_section  # noqa: E402
from tessera.codecs.feed_model import Decoded  # noqa: E402
from tessera.core.fusion.engine import KalmanTracker  # noqa: E402
from tessera.core.labels import ClassificationScheme  # noqa: E402
from tessera.core.model import Label, Report  # noqa: E402
from tessera.security.scoping import IdScope, Submitter  # noqa: E402
from tessera.security.sources import Ownership  # noqa: E402
from tessera.transports.feeds.base import FeedDecoder, decoder_for  # noqa: E402
from tessera.transports.feeds.config import FeedConfig  # noqa: E402
from tessera.transports.feeds.sink import ReportMaker  # noqa: E402

SECTION = "## Sensor feeds"
CHUNK = 64 * 1024
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
# Off Kołobrzeg: where the recording's ships and aircraft are.
ORIGIN = (54.30, 15.40)


@dataclass(frozen=True)
class Load:
    objects: int
    seconds: int


FULL = Load(objects=2_000, seconds=30)
QUICK = Load(objects=200, seconds=5)
# Every benchmark stops after this long whatever its size (bounded on a loaded machine).
TIME_LIMIT_S = 120.0


def positions(load: Load, seed: int) -> Iterator[tuple[int, int, float, float]]:
    """(second, object, lat, lon): each object moving straight at its own course."""
    rng = random.Random(seed)
    tracks = [
        (
            ORIGIN[0] + rng.uniform(-0.5, 0.5),
            ORIGIN[1] + rng.uniform(-1.0, 1.0),
            rng.uniform(0, 2 * math.pi),
        )
        for _ in range(load.objects)
    ]
    for second in range(load.seconds):
        for index, (lat, lon, heading) in enumerate(tracks):
            step = 0.0001 * second
            yield second, index, lat + step * math.cos(heading), lon + step * math.sin(heading)


def ais_recording(load: Load, seed: int = 7) -> list[bytes]:
    """One piece per second: type 1 sentences made with pyais's encoder."""
    from pyais.encode import encode_dict

    seconds: list[list[str]] = [[] for _ in range(load.seconds)]
    for second, index, lat, lon in positions(load, seed):
        message: dict[str, str | int | float | bytes | bool] = {
            "type": 1,
            "mmsi": 261_000_000 + index,
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "speed": 12.0,
            "course": 45.0,
        }
        seconds[second].extend(encode_dict(message, talker_id="AI", sentence_type="VDM"))
    return [("\r\n".join(lines) + "\r\n").encode() for lines in seconds]


def sbs_recording(load: Load, seed: int = 11) -> list[bytes]:
    seconds: list[list[str]] = [[] for _ in range(load.seconds)]
    for second, index, lat, lon in positions(load, seed):
        icao = f"{0x480000 + index:06X}"
        seconds[second].append(
            f"MSG,3,1,1,{icao},1,,,,,,35000,450,90.0,{lat:.5f},{lon:.5f},,,0,0,0,0"
        )
    return [("\r\n".join(lines) + "\r\n").encode() for lines in seconds]


# MAVLink system ids are one byte: a feed carries a few drones, not thousands.
MAX_DRONES = 250


def objects_for(kind: str, load: Load) -> int:
    return min(load.objects, MAX_DRONES) if kind == "mavlink" else load.objects


def mavlink_recording(load: Load, seed: int = 13) -> list[bytes]:
    """GLOBAL_POSITION_INT from each drone, made with pymavlink's encoder."""
    from pymavlink.dialects.v20 import common as mavlink

    drones = objects_for("mavlink", load)
    encoders = [mavlink.MAVLink(None, srcSystem=index + 1) for index in range(drones)]
    seconds: list[list[bytes]] = [[] for _ in range(load.seconds)]
    for second, index, lat, lon in positions(Load(drones, load.seconds), seed):
        enc = encoders[index]
        message = enc.global_position_int_encode(
            second * 1000, round(lat * 1e7), round(lon * 1e7), 300_000, 250_000, 1000, 0, 0, 0
        )
        seconds[second].append(bytes(message.pack(enc)))
    return [b"".join(frames) for frames in seconds]


def klv_recording(load: Load, seed: int = 17) -> list[bytes]:
    """ST 0601 packets: each platform's position, heading and four image corners."""
    from tessera.codecs.klv import encode_packet

    seconds: list[list[bytes]] = [[] for _ in range(load.seconds)]
    for second, index, lat, lon in positions(load, seed):
        values = {"sensor_lat": lat, "sensor_lon": lon, "sensor_alt": 1500.0,
                  "platform_heading": 45.0, "ground_speed": 40.0}  # fmt: skip
        square = ((0.01, -0.01), (0.01, 0.01), (-0.01, 0.01), (-0.01, -0.01))
        for n, (d_lat, d_lon) in enumerate(square, 1):
            values[f"corner_lat_{n}"] = lat + 0.05 + d_lat
            values[f"corner_lon_{n}"] = lon + d_lon
        packet = encode_packet(values, texts={"designation": f"uav{index}"})
        seconds[second].append(packet)
    return [b"".join(packets) for packets in seconds]


RECORDINGS: dict[str, Callable[[Load], list[bytes]]] = {
    "ais": ais_recording,
    "adsb-sbs": sbs_recording,
    "mavlink": mavlink_recording,
    "klv": klv_recording,
}


def pieces(second: bytes) -> Iterator[bytes]:
    for at in range(0, len(second), CHUNK):
        yield second[at : at + CHUNK]


def decode_all(decoder: FeedDecoder, recording: list[bytes], deadline: float) -> Decoded:
    total = Decoded()
    for second, data in enumerate(recording):
        for piece in pieces(data):
            total.messages += decoder.take(piece, float(second)).messages
        if time.process_time() > deadline:
            break
    return total


def measure(kind: str, load: Load) -> dict[str, float]:
    recording = RECORDINGS[kind](load)
    config = msgspec.convert(
        {"name": f"bench-{kind}", "kind": kind, "address": "udp://127.0.0.1:1", "principal": "b"},
        FeedConfig,
    )
    label = Label("UNCLASSIFIED", ("NATO",))
    deadline = time.process_time() + TIME_LIMIT_S
    began = time.process_time()
    decoded = decode_all(decoder_for(config), recording, deadline)
    decode_s = time.process_time() - began
    counter = iter(range(1 << 62))
    maker = ReportMaker(config, label, lambda: f"r{next(counter)}")
    submitter = Submitter(
        "b", Ownership([config.name, config.own_subjects]), IdScope(b"0123456789abcdef0123")
    )
    engine = KalmanTracker(ClassificationScheme())
    decoder = decoder_for(config)
    messages = 0
    began = time.process_time()
    for second, data in enumerate(recording):
        now = START + timedelta(seconds=second)
        reports: list[Report] = []
        for piece in pieces(data):
            out = decoder.take(piece, float(second))
            messages += out.messages
            for sighting in out.sightings:
                report = maker.report(sighting, now)
                if report is not None:
                    owned = submitter.own(report)
                    reports.append(msgspec.structs.replace(owned, received_at=now))
        engine.feed(reports)
        engine.flush(now.timestamp())
        engine.forget_changes()
        if time.process_time() > deadline:
            break
    fused_s = time.process_time() - began
    return {
        "messages": float(decoded.messages),
        "decoded_per_s": decoded.messages / decode_s,
        "fused_per_s": messages / fused_s,
        "live_tracks": float(engine.live_count()),
    }


def markdown(rows: dict[str, dict[str, float]], load: Load, command: str, when: str) -> str:
    lines = [
        SECTION,
        "",
        f"{load.objects:,} objects (MAVLink: {MAX_DRONES} drones) each reporting once a "
        f"second for {load.seconds} s per kind, decoded from 64 KiB pieces, per CPU second "
        "of one core; "
        '"decoded and fused" adds the feed\'s reports (label, grading, ids scoped to its '
        "principal) and fusion in "
        f"one-second micro-batches. `{command}`, {when}.",
        "",
        "| feed kind | messages | decoded, messages/s | decoded and fused, messages/s |",
        "|---|---|---|---|",
    ]
    for kind, row in rows.items():
        lines.append(
            f"| {kind} | {row['messages']:,.0f} | {row['decoded_per_s']:,.0f} | "
            f"{row['fused_per_s']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="write into BENCHMARKS.md")
    args = parser.parse_args()
    load = QUICK if args.quick else FULL
    rows = {kind: measure(kind, load) for kind in RECORDINGS}
    command = "python benchmarks/feeds.py" + (" --quick" if args.quick else "")
    text = markdown(rows, load, command, measured_when())
    print(text)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

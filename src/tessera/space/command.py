"""`tessera passes`: the passes of satellites from element set files (TLE or CCSDS OMM)
over a place in the next hours, as a table or JSON lines. No server needed."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tessera.arguments import positive
from tessera.codecs.elements import decode_element_sets
from tessera.codecs.errors import DecodeError
from tessera.codecs.json import to_builtins
from tessera.core.model import Identity, Label
from tessera.core.space.catalog import SatelliteSource, newest, profiled
from tessera.core.space.passes import Sites
from tessera.core.space.predict import Pass, passes_over


def _latitude(text: str) -> float:
    value = float(text)
    if not -90.0 <= value <= 90.0:
        raise argparse.ArgumentTypeError("a latitude is -90 to 90 degrees")
    return value


def _longitude(text: str) -> float:
    value = float(text)
    if not -180.0 <= value <= 180.0:
        raise argparse.ArgumentTypeError("a longitude is -180 to 180 degrees")
    return value


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a time is ISO 8601, with its offset") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("a time needs its offset (Z or +01:00)")
    return moment.astimezone(UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("elements", type=Path, nargs="+", help="TLE or OMM (XML, JSON, KVN) files")
    parser.add_argument("--lat", type=_latitude, required=True, help="degrees north")
    parser.add_argument("--lon", type=_longitude, required=True, help="degrees east")
    parser.add_argument("--hours", type=positive, default=6.0, help="how far ahead (default 6)")
    parser.add_argument("--start", type=_moment, default=None, help="from when (default now)")
    parser.add_argument("--mask", type=float, default=0.0, help="lowest elevation, degrees")
    parser.add_argument(
        "--half-angle", type=float, default=30.0, help="sensor half-angle off nadir (default 30)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per pass")


def _time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _table(passes: list[Pass]) -> str:
    lines = [
        f"{'satellite':<26} {'norad':>6}  {'rise':<19}  {'culmination':<19}  {'set':<19}"
        f" {'max el':>6} {'nadir':>6} field"
    ]
    for found in passes:
        field = "yes" if found.in_field else "no"
        lines.append(
            f"{found.name[:26]:<26} {found.norad_id:>6}  {_time(found.rise):<19}  "
            f"{_time(found.culmination):<19}  {_time(found.set):<19}"
            f" {found.max_elevation:6.1f} {found.off_nadir:6.1f} {field}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.mask <= 60.0 or not 0.0 <= args.half_angle <= 90.0 or args.hours > 168:
        print("error: --mask is 0-60, --half-angle 0-90, --hours at most 168", file=sys.stderr)
        return 2
    source = SatelliteSource(
        name="command-line",
        label=Label("UNCLASSIFIED"),
        file="-",
        identity=Identity.UNKNOWN,
        sensor_half_angle=args.half_angle,
    )
    satellites = []
    for path in args.elements:
        try:
            satellites += profiled(source, decode_element_sets(path.read_bytes()))
        except OSError as exc:
            print(f"error: {path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        except DecodeError as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            return 1
    start = args.start or datetime.now(UTC)
    found = passes_over(
        newest(satellites),
        Sites([args.lat], [args.lon], [0.0]),
        start,
        timedelta(hours=args.hours),
        mask_degrees=args.mask,
    )
    if args.json:
        for item in found:
            row = {k: v for k, v in to_builtins(item).items() if k not in ("site", "label")}
            print(json.dumps(row))
    else:
        print(_table(found))
    return 0

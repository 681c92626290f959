"""STANAG 4609 metadata as a feed: ST 0601 packets (``klv.py``) from a stream of KLV
packets (UDP datagrams, a recording) or from an MPEG-2 transport stream's KLV data stream
(``mpegts.py``). Each packet gives the platform's own position and heading (its track),
the image's four ground corners (the footprint overlay: the full corners, tags 82-89, or
else the frame centre with its corner offsets, tags 23-24 and 26-33) and, when the sensor
reports one, the target location (tags 40-41: a report of what it looks at)."""

from __future__ import annotations

import re
from typing import Final

from tessera.codecs.feed_model import Decoded, Footprint, Sighting
from tessera.codecs.klv import UAS_LS_KEY, KlvError, UasDatalink, decode_packet, split_packet
from tessera.codecs.mpegts import TransportStream
from tessera.core.model import Identity, SourceKind

UAV_SIDC: Final = "10030100001103000000"
# What a platform is called when it names itself nothing.
DEFAULT_PLATFORM: Final = "platform"
MAX_BUFFER: Final = 256 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class KlvDecoder:
    """A byte stream (or datagrams) of UAS Datalink Local Set packets."""

    def __init__(self) -> None:
        self._pending = b""

    def take(self, data: bytes, now: float, *, whole: bool = False) -> Decoded:
        out = Decoded()
        buffer = self._pending + data
        at = 0
        while True:
            start = buffer.find(UAS_LS_KEY, at)
            if start < 0:
                if len(buffer) - at > 16:
                    out.problems.append("bytes outside a KLV packet")
                at = len(buffer) if whole else max(at, len(buffer) - 15)
                break
            if start > at:
                out.problems.append("bytes outside a KLV packet")
            try:
                packet, end = split_packet(buffer, start)
            except KlvError as exc:
                if str(exc) == "incomplete" and not whole:
                    at = start
                    break
                out.problems.append(f"bad KLV packet ({exc})")
                at = start + 16
                continue
            packet_out(packet, out)
            at = end
        self._pending = buffer[at:] if not whole else b""
        if len(self._pending) > MAX_BUFFER:
            out.problems.append("a KLV packet too long")
            self._pending = b""
        return out


class KlvTransportStreamDecoder:
    """An MPEG-2 transport stream: the KLV packets of its metadata stream."""

    def __init__(self) -> None:
        self._stream = TransportStream()
        self._packets = KlvDecoder()

    def take(self, data: bytes, now: float, *, whole: bool = False) -> Decoded:
        out = Decoded()
        for payload in self._stream.payloads(data, out.problems):
            out.extend(self._packets.take(payload, now, whole=True))
        return out


def packet_out(packet: bytes, out: Decoded) -> None:
    try:
        link = decode_packet(packet)
    except KlvError as exc:
        out.problems.append(f"bad KLV packet ({exc})")
        return
    except (ValueError, IndexError, OverflowError):
        out.problems.append("bad KLV packet")
        return
    out.messages += 1
    sightings(link, out)


def platform_subject(link: UasDatalink) -> str:
    name = link.texts.get("designation") or link.texts.get("tail") or DEFAULT_PLATFORM
    return "klv-" + (_SAFE.sub("-", name).strip("-")[:48] or DEFAULT_PLATFORM)


def sightings(link: UasDatalink, out: Decoded) -> None:
    values = link.values
    subject = platform_subject(link)
    name = link.texts.get("designation") or link.texts.get("tail") or None
    lat, lon = values.get("sensor_lat"), values.get("sensor_lon")
    if lat is not None and lon is not None:
        heading = values.get("platform_heading")
        speed = values.get("ground_speed")
        out.sightings.append(
            Sighting(
                subject=subject,
                kind=SourceKind.UAV,
                lat=lat,
                lon=lon,
                alt=values.get("sensor_alt", values.get("sensor_ellipsoid_height")),
                ce=20.0,
                course=heading if speed is not None else None,
                speed=speed if heading is not None else None,
                sidc=UAV_SIDC,
                name=name,
                own=True,
            )
        )
    corners = footprint_corners(values)
    if corners is not None:
        label = name or subject
        out.footprints.append(
            Footprint(platform=subject, corners=corners, name=f"{label} sensor footprint")
        )
    target_lat, target_lon = values.get("target_lat"), values.get("target_lon")
    if target_lat is not None and target_lon is not None:
        out.sightings.append(
            Sighting(
                subject=None,
                kind=SourceKind.UAV,
                lat=target_lat,
                lon=target_lon,
                alt=values.get("target_elevation"),
                ce=30.0,
                identity=Identity.UNKNOWN,
                remarks=f"target location from {name or subject}'s sensor (KLV)",
            )
        )


def footprint_corners(values: dict[str, float]) -> tuple[tuple[float, float], ...] | None:
    """The image's corners as (lon, lat), from the full corners or the frame centre's
    offsets; None unless all four are known."""
    full = [(values.get(f"corner_lon_{n}"), values.get(f"corner_lat_{n}")) for n in range(1, 5)]
    if all(lon is not None and lat is not None for lon, lat in full):
        return tuple((float(lon or 0.0), float(lat or 0.0)) for lon, lat in full)
    centre_lat, centre_lon = values.get("frame_centre_lat"), values.get("frame_centre_lon")
    if centre_lat is None or centre_lon is None:
        return None
    offsets = [(values.get(f"offset_lon_{n}"), values.get(f"offset_lat_{n}")) for n in range(1, 5)]
    if not all(lon is not None and lat is not None for lon, lat in offsets):
        return None
    return tuple(
        (centre_lon + float(lon or 0.0), centre_lat + float(lat or 0.0)) for lon, lat in offsets
    )

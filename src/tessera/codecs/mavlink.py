"""MAVLink (v1 and v2, the common dialect) from a drone, with pymavlink's parser.

Each vehicle (``mav-<system id>``) is its own friendly air track: GLOBAL_POSITION_INT
gives its position, altitude (above mean sea level), heading and velocity. Its camera's
ground footprint comes from CAMERA_FOV_STATUS (the camera's attitude and field of view,
MAVLink message 271) or else from the gimbal's attitude (GIMBAL_DEVICE_ATTITUDE_STATUS,
MOUNT_ORIENTATION) with the field of view of CAMERA_INFORMATION (or a default), projected
from the height the vehicle flies above its home. Pure: the time of receipt is passed in.
"""

from __future__ import annotations

import math
from typing import Any, Final

from pymavlink.dialects.v20 import common as mavlink

from tessera.codecs.feed_model import Decoded, Footprint, Sighting
from tessera.core.footprint import euler_from_quaternion, ground_footprint
from tessera.core.model import SourceKind

# A friendly military unmanned aerial vehicle (APP-6(D) air, entity 110300).
UAV_SIDC: Final = "10030100001103000000"
# A camera whose field of view nobody said: a typical drone camera's.
DEFAULT_HFOV: Final = 60.0
DEFAULT_VFOV: Final = 45.0
CE_M: Final = 10.0
MAX_VEHICLES: Final = 1_000
_YAW_IN_EARTH_FRAME: Final = int(mavlink.GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME)


class Vehicle:
    __slots__ = ("fov", "gimbal", "heading", "height", "lat", "lon", "name")

    def __init__(self, system: int) -> None:
        self.name = f"MAV {system}"
        self.lat: float | None = None
        self.lon: float | None = None
        self.height: float | None = None  # above home, metres
        self.heading: float | None = None
        # (roll, pitch, yaw, yaw_in_earth_frame)
        self.gimbal: tuple[float, float, float, bool] | None = None
        self.fov: tuple[float, float] = (DEFAULT_HFOV, DEFAULT_VFOV)


def subject_of(system: int) -> str:
    return f"mav-{system}"


class MavlinkDecoder:
    def __init__(self) -> None:
        self._parser = mavlink.MAVLink(None)
        self._parser.robust_parsing = True
        self._vehicles: dict[int, Vehicle] = {}

    def take(self, data: bytes, now: float, *, whole: bool = False) -> Decoded:
        out = Decoded()
        try:
            messages = self._parser.parse_buffer(data) or []
        except (mavlink.MAVError, ValueError, IndexError, TypeError, UnicodeDecodeError) as exc:
            out.problems.append(f"undecodable MAVLink ({type(exc).__name__})")
            # Start afresh: what the parser held is not to be trusted.
            self._parser = mavlink.MAVLink(None)
            self._parser.robust_parsing = True
            return out
        for message in messages:
            self.message(message, out)
        return out

    def _vehicle(self, system: int) -> Vehicle | None:
        vehicle = self._vehicles.get(system)
        if vehicle is None:
            if len(self._vehicles) >= MAX_VEHICLES:
                return None
            vehicle = self._vehicles[system] = Vehicle(system)
        return vehicle

    def message(self, message: Any, out: Decoded) -> None:
        kind = message.get_type()
        if kind == "BAD_DATA":
            reason = str(getattr(message, "reason", ""))
            out.problems.append("bad MAVLink frame" + (" (CRC)" if "CRC" in reason else ""))
            return
        out.messages += 1
        vehicle = self._vehicle(int(message.get_srcSystem()))
        if vehicle is None:
            out.problems.append("too many vehicles")
            return
        if kind == "GLOBAL_POSITION_INT":
            self._position(message, vehicle, out)
        elif kind == "CAMERA_FOV_STATUS":
            self._fov_status(message, vehicle, out)
        elif kind == "GIMBAL_DEVICE_ATTITUDE_STATUS":
            roll, pitch, yaw = euler_from_quaternion(*message.q)
            earth = bool(message.flags & _YAW_IN_EARTH_FRAME)
            vehicle.gimbal = (roll, pitch, yaw, earth)
            self._footprint(vehicle, message.get_srcSystem(), out)
        elif kind == "MOUNT_ORIENTATION":
            earth = math.isfinite(message.yaw_absolute) and message.yaw_absolute != 0
            yaw = message.yaw_absolute if earth else message.yaw
            vehicle.gimbal = (message.roll, message.pitch, yaw, earth)
            self._footprint(vehicle, message.get_srcSystem(), out)
        elif kind == "CAMERA_INFORMATION":
            focal, width, height = (
                message.focal_length,
                message.sensor_size_h,
                message.sensor_size_v,
            )
            if focal > 0 and width > 0 and height > 0:
                vehicle.fov = (
                    math.degrees(2 * math.atan(width / (2 * focal))),
                    math.degrees(2 * math.atan(height / (2 * focal))),
                )

    def _position(self, message: Any, vehicle: Vehicle, out: Decoded) -> None:
        lat, lon = message.lat / 1e7, message.lon / 1e7
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            out.problems.append("no position fix")
            return
        vehicle.lat, vehicle.lon = lat, lon
        vehicle.height = message.relative_alt / 1000.0
        heading = None if message.hdg == 65535 else message.hdg / 100.0
        vehicle.heading = heading
        speed = math.hypot(message.vx, message.vy) / 100.0
        course = math.degrees(math.atan2(message.vy, message.vx)) % 360.0
        if speed < 0.5 and heading is not None:
            course = heading  # hovering: its heading says where it points
        system = int(message.get_srcSystem())
        out.sightings.append(
            Sighting(
                subject=subject_of(system),
                kind=SourceKind.UAV,
                lat=lat,
                lon=lon,
                alt=message.alt / 1000.0,
                ce=CE_M,
                course=course,
                speed=speed,
                sidc=UAV_SIDC,
                name=vehicle.name,
                own=True,
            )
        )
        self._footprint(vehicle, system, out)

    def _fov_status(self, message: Any, vehicle: Vehicle, out: Decoded) -> None:
        roll, pitch, yaw = euler_from_quaternion(*message.q)
        lat, lon = message.lat_camera / 1e7, message.lon_camera / 1e7
        height = vehicle.height
        if height is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return
        corners = ground_footprint(
            lat, lon, height, yaw=yaw, pitch=pitch, roll=roll, hfov=message.hfov, vfov=message.vfov
        )
        if corners is not None:
            system = int(message.get_srcSystem())
            out.footprints.append(_footprint(system, vehicle, corners))

    def _footprint(self, vehicle: Vehicle, system: int, out: Decoded) -> None:
        gimbal = vehicle.gimbal
        if gimbal is None or vehicle.lat is None or vehicle.lon is None or vehicle.height is None:
            return
        roll, pitch, yaw, earth = gimbal
        if not earth:
            yaw = yaw + (vehicle.heading or 0.0)
        hfov, vfov = vehicle.fov
        corners = ground_footprint(
            vehicle.lat, vehicle.lon, vehicle.height, yaw=yaw % 360.0, pitch=pitch, roll=roll,
            hfov=hfov, vfov=vfov,
        )  # fmt: skip
        if corners is not None:
            out.footprints.append(_footprint(system, vehicle, corners))


def _footprint(
    system: int, vehicle: Vehicle, corners: tuple[tuple[float, float], ...]
) -> Footprint:
    return Footprint(
        platform=subject_of(system), corners=corners, name=f"{vehicle.name} camera footprint"
    )

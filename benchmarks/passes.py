"""Satellite passes: 5,000 satellites over 100 areas for 24 hours, on one core.

The element sets are synthesised from a fixed seed (low orbits from 350 to 1,500 km, every
inclination, a few eccentric ones), the areas spread over the inhabited latitudes.

Usage: python benchmarks/passes.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from tessera.core.space.elements import ElementSet
from tessera.core.space.passes import Sites, find_passes

SECTION: Final = "## Satellite passes"
START: Final = datetime(2026, 6, 1, tzinfo=UTC)


def synthetic_elements(count: int, seed: int = 22) -> list[ElementSet]:
    """``count`` element sets, the same for the same seed."""
    rng = np.random.default_rng(seed)
    altitude = rng.uniform(350.0, 1500.0, count)
    semi_major = 6378.137 + altitude
    mean_motion = 86400.0 / (2 * np.pi * np.sqrt(semi_major**3 / 398600.8))
    eccentric = rng.random(count) < 0.05
    eccentricity = np.where(eccentric, rng.uniform(0.01, 0.05, count), rng.uniform(0, 2e-3, count))
    inclination = rng.choice([53.0, 70.0, 87.0, 97.6, 51.6], count) + rng.normal(0, 1.5, count)
    return [
        ElementSet(
            norad_id=90000 + i,
            name=f"SYNTH {i}",
            object_id=f"2026-{i // 26 + 1:03d}{chr(65 + i % 26)}",
            epoch=START - timedelta(hours=float(rng.uniform(0, 48))),
            mean_motion=float(mean_motion[i]),
            eccentricity=float(eccentricity[i]),
            inclination=float(np.clip(inclination[i], 0, 180)),
            ra_of_asc_node=float(rng.uniform(0, 360)),
            arg_of_pericenter=float(rng.uniform(0, 360)),
            mean_anomaly=float(rng.uniform(0, 360)),
            bstar=float(rng.uniform(1e-5, 2e-4)),
        )
        for i in range(count)
    ]


def synthetic_areas(count: int, seed: int = 23) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-60)), np.sin(np.radians(70)), count)))
    return lat.tolist(), rng.uniform(-180, 180, count).tolist()


def measure(satellites: int, areas: int, hours: float) -> dict[str, float]:
    """Time one pass search (process time: this runs on one core)."""
    elements = synthetic_elements(satellites)
    lat, lon = synthetic_areas(areas)
    sites = Sites(lat=lat, lon=lon, alt=[0.0] * areas)
    start = START.timestamp()
    began = time.process_time()
    table = find_passes(elements, sites, start, start + hours * 3600.0)
    seconds = time.process_time() - began
    return {
        "satellites": satellites,
        "areas": areas,
        "hours": hours,
        "passes": len(table),
        "seconds": seconds,
        "in_field_share": float(np.mean(table.off_nadir <= 30.0)) if len(table) else 0.0,
    }


def markdown(figures: dict[str, float], command: str, load: str) -> str:
    return (
        f"{SECTION}\n\n"
        f"`{command}` (load average {load}): passes of {figures['satellites']:,.0f} satellites "
        f"over {figures['areas']:,.0f} areas for {figures['hours']:g} hours, on one core: "
        f"**{figures['seconds']:.1f} s** for {figures['passes']:,.0f} passes (rise, "
        "culmination, set, highest elevation and off-nadir angle each; "
        f"{figures['in_field_share']:.0%} within a 30° field of regard).\n"
    )


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--quick", action="store_true", help="50 satellites, 5 areas, 2 hours")
    args = options.parse_args()
    figures = measure(50, 5, 2.0) if args.quick else measure(5000, 100, 24.0)
    command = "python benchmarks/passes.py" + (" --quick" if args.quick else "")
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(markdown(figures, command, load))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    raise SystemExit(main())

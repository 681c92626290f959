"""The scale-out fusion benchmark's quick mode still runs and gives sane figures (no
timing thresholds: timings are for BENCHMARKS.md, never assertions)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from benchmarks.scaleout_fusion import QUICK, measure

from tests.postgis.databases import require_postgis
from tests.services import require_service

pytestmark = pytest.mark.slow


def test_quick_mode_gives_every_figure(tmp_path: Path) -> None:
    require_service("NATS", "127.0.0.1", 4222)
    require_postgis()
    figures = asyncio.run(measure(QUICK, tmp_path))
    assert all(math.isfinite(value) for value in figures.values()), figures
    burst = QUICK.objects * QUICK.seconds
    assert figures["catchup_reports"] == burst
    for key in ("append_per_s", "memory_per_s", "postgis_per_s", "tracks"):
        assert figures[f"catchup_{key}"] > 0, key
    assert figures["catchup_postgis_s"] > 0 and figures["catchup_memory_s"] > 0
    if "catchup_archive_s" in figures:  # a schema with the report archive
        assert figures["catchup_archive_per_s"] > 0
    assert figures["embedded_per_s"] > 0 and figures["catchup_memory_ratio"] > 0
    for rate in QUICK.rates:
        prefix = f"live_{rate:.0f}_"
        assert figures[prefix + "rate"] > 0
        # From the append's acknowledgement, which can come after the worker has seen the
        # report: a lag may read a little below zero (BENCHMARKS.md says why).
        assert figures[prefix + "p50_ms"] <= figures[prefix + "p99_ms"]
        assert figures[prefix + "p99_ms"] > 0
        assert figures[prefix + "worker_cpu"] > 0
        assert 0 < figures[prefix + "arrived"] <= 1
        assert figures[prefix + "kept_up"] in (0.0, 1.0)
    assert figures["gateway_tracks"] == QUICK.tracks
    for key in ("empty", "followed", "loaded", "alone", "followed_long", "alone_long"):
        assert figures[f"gateway_{key}_mib"] > 0, key
    # Thousands of tracks: far above the resident memory's noise.
    for key in ("followed", "loaded", "alone"):
        assert figures[f"gateway_{key}_per_track"] > 0, key

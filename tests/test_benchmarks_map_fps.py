"""benchmarks/map_fps.py writes its section of BENCHMARKS.md in place, keeping the rest."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from benchmarks.common import write_section
from benchmarks.map_fps import IDENTITIES, PAN, SECTION, report, section

FIGURES = {
    "tracks": 10_000,
    "posted_per_s": 1_990.0,
    "fps": 31.5,
    "p95_frame_ms": 40.0,
    "idle_fps": 40.0,
    "bare_webgl_fps": 60.0,
    "updates_per_s": 1_900.0,
    "source_updates_per_s": 2.0,
    "drawn": 10_000,
    "symbols": 730,
    "size": "1280x800",
    "warmup_s": 30.0,
    "first_fps": 15.5,
    "idle_at": {"1920x1080": 35.0},
    "bare_at": {"1920x1080": 50.0},
}


def test_the_section_replaces_its_old_self_and_keeps_the_others(tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(f"# Benchmarks\n\n## Ingest\n\nold\n\n{SECTION}\n\nstale\n\n## Later\n\nkept\n")
    write_section(page, SECTION, section(FIGURES, "python benchmarks/map_fps.py", "1.0", "2.0"))
    text = page.read_text()
    assert "stale" not in text and "| 31.5 |" in text
    assert text.index("## Ingest") < text.index(SECTION) < text.index("## Later")
    assert "kept" in text and text.count(SECTION) == 1
    assert "before: 1.0; after: 2.0" in text
    assert "| 1920x1080 | 35.0 | 50.0 |" in text
    assert "clusters of one identity, formations) | 730 |" in text
    assert "panned for 30 s first, at 15.5 frames/s" in text


def test_the_load_mixes_identities_and_moves_each_object_a_little() -> None:
    first = report(0, 0, 100, when=datetime(2026, 1, 1, tzinfo=UTC))
    later = report(0, 5, 100, when=datetime(2026, 1, 1, tzinfo=UTC))
    assert first["subject"] == later["subject"] == "obj-0" and first["identity"] == "friend"
    assert first["id"] != later["id"] and first["position"] != later["position"]
    assert {identity for identity, _ in IDENTITIES} == {"friend", "hostile", "unknown"}


# Runs the benchmark's PAN in node against a stand-in map, with frames of 20 ms: where it
# moves the map, and where it starts from.
PAN_CHECK = """
const jumps = [];
// The map's x offset from the opening view, in pixels, and its extremes.
let x = 0, least = 0, most = 0, moves = 0;
let clock = 0;
globalThis.performance = { now: () => clock };
globalThis.requestAnimationFrame = (step) => setTimeout(() => { clock += 20; step(clock); }, 0);
globalThis.window = {
  benchmarkCentre: [18.5, 53.0],
  tessera: {
    map: {
      jumpTo: (view) => { jumps.push(view.center); x = 0; },
      panBy: ([dx]) => {
        x += dx; moves += 1; least = Math.min(least, x); most = Math.max(most, x);
      },
    },
    trackLayer: { received: 0, flushes: 0 },
    trackCount: () => 0,
    symbolsDrawn: () => 0,
  },
};
const pan = PAN;
for (const seconds of [2.5, 7, 1]) await pan(seconds);
console.log(JSON.stringify({ jumps, least, most, moves }));
"""


def test_every_pan_swings_across_the_opening_view_without_drifting(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed")
    script = tmp_path / "pan.mjs"
    script.write_text(PAN_CHECK.replace("PAN;", PAN + ";"))
    out = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    # Each round starts at the opening view, and none strays more than 240 px from it,
    # however many frames it was given (a drifting pan left the tracks behind).
    assert result["jumps"] == [[18.5, 53.0]] * 3
    assert result["moves"] > 400
    assert result["least"] >= -240 and result["most"] <= 240
    assert result["most"] - result["least"] > 240

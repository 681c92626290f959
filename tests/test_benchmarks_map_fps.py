"""benchmarks/map_fps.py writes its section of BENCHMARKS.md in place, keeping the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import write_section
from benchmarks.map_fps import IDENTITIES, SECTION, report, section

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
    assert "panned for 30 s first, at 15.5 frames/s" in text


def test_the_load_mixes_identities_and_moves_each_object_a_little() -> None:
    first = report(0, 0, 100, when=datetime(2026, 1, 1, tzinfo=UTC))
    later = report(0, 5, 100, when=datetime(2026, 1, 1, tzinfo=UTC))
    assert first["subject"] == later["subject"] == "obj-0" and first["identity"] == "friend"
    assert first["id"] != later["id"] and first["position"] != later["position"]
    assert {identity for identity, _ in IDENTITIES} == {"friend", "hostile", "unknown"}

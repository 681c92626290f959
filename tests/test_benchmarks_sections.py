"""The benchmarks write their sections of BENCHMARKS.md through one helper: a section is
replaced where it stands, or added before the one named or at the end."""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import write_section

PAGE = "# B\n\n## Ingest\n\nold\n\n## Feeds\n\nstale\n\n## Fusion\n\nfused\n"


def test_a_section_is_replaced_where_it_stands(tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(PAGE)
    write_section(page, "## Feeds", "## Feeds\n\nfresh\n")
    assert page.read_text() == PAGE.replace("stale", "fresh")


def test_a_new_section_goes_before_the_one_named_or_at_the_end(tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(PAGE)
    write_section(page, "## History", "## History\n\nseek\n", before="## Fusion")
    assert page.read_text() == PAGE.replace("## Fusion", "## History\n\nseek\n\n## Fusion")
    write_section(page, "## Passes", "## Passes\n\nfast\n")
    assert page.read_text().endswith("fused\n\n## Passes\n\nfast\n")

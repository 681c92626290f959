"""The README's Imagery section: its settings example loads, and the status it describes
is the one served."""

from __future__ import annotations

import re
from pathlib import Path

from tessera.settings import load_settings
from tessera.transports.imagery.config import ImagerySource
from tessera.transports.imagery.status import ImageryStatus

README = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()
SECTION = README.split("## Imagery (STAC)\n", 1)[1].split("\n## ", 1)[0]


def test_the_settings_example_loads(tmp_path: Path) -> None:
    example = SECTION.split("```", 2)[1]
    path = tmp_path / "tessera.toml"
    path.write_text(example)
    [source] = load_settings(path).imagery
    assert (source.name, source.kind, source.principal) == ("sentinel", "stac-api", "imagery-bot")
    assert source.areas == ((18.0, 52.5, 19.5, 53.5),)
    assert source.lookback_s == 30 * 86_400


def test_the_status_fields_are_those_served() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `GET /imagery`"))
    named = set(re.findall(r"`([a-z_]+)`", row))
    source = ImagerySource(
        name="s", kind="static", path=Path("c.json"), principal="p", areas=((0, 0, 1, 1),)
    )
    served = set(ImageryStatus(source).as_json())
    assert served <= named

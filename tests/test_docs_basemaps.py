"""docs/basemaps.md stays honest: its settings load, its routes are the served ones, and
the screenshots it and the README show are the ones the browser tests take."""

from __future__ import annotations

import re
from pathlib import Path

from tessera.settings import load_settings
from tessera.transports.web.tiles import tile_routes

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "basemaps.md").read_text()
README = (ROOT / "README.md").read_text()


def test_the_settings_example_loads(tmp_path: Path) -> None:
    example = PAGE.split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "tessera.toml"
    path.write_text(example)
    settings = load_settings(path)
    assert [(b.name, b.kind) for b in settings.basemaps] == [
        ("topo", "vector"),
        ("imagery", "raster"),
    ]


def test_the_routes_table_is_what_is_served() -> None:
    documented = set(re.findall(r"`GET (/tiles[^`]*)`", PAGE))
    # Without the path parameters' convertors ({z:int} is {z}).
    served = {re.sub(r":\w+}", "}", getattr(route, "path", "")) for route in tile_routes()}
    assert documented == served


def test_the_pictures_shown_are_taken_by_the_browser_tests() -> None:
    test = (ROOT / "tests" / "web" / "test_basemap_browser.py").read_text()
    assert "docs/basemaps.md" in README
    for name in ("screenshot-basemap.png", "screenshot-mgrs.png"):
        assert f'"{name}"' in test
        assert f"({name})" in PAGE or f"(docs/{name})" in README
        assert (ROOT / "docs" / name).exists()

"""``[[imagery]]`` in the settings: what is wrong is refused, naming the source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tessera.settings import load_settings

GOOD: dict[str, Any] = {
    "name": "sat",
    "kind": "stac-api",
    "url": "https://stac.example.org/v1",
    "principal": "imagery-bot",
    "areas": [[18.0, 52.5, 19.5, 53.5]],
}


def test_a_good_source_loads(tmp_path: Path) -> None:
    static = {**GOOD, "name": "disk", "kind": "static", "path": "/srv/catalog.json"}
    del static["url"]
    settings = load_settings(data_dir=tmp_path, imagery=[GOOD, static])
    assert [source.name for source in settings.imagery] == ["sat", "disk"]
    assert settings.imagery[1].address == "/srv/catalog.json"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "ftp://stac.example.org"}, "url must be http:// or https://"),
        ({"url": None, "path": "/srv/catalog.json"}, "takes url"),
        ({"kind": "static", "url": None}, "either path"),
        ({"areas": []}, "give areas"),
        ({"areas": [[10.0, 60.0, 11.0, 50.0]]}, "south not above north"),
        ({"areas": [[200.0, 50.0, 11.0, 51.0]]}, "longitudes"),
        ({"grading": "Z9"}, "grading"),
        ({"interval_s": 0.5}, "interval_s"),
        ({"max_items": 0}, "max_items"),
        ({"lookback_s": -1.0}, "lookback_s"),
        ({"label": {"classification": "COSMIC"}}, "is not a level"),
    ],
)
def test_what_is_wrong_is_named(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    source = {key: value for key, value in {**GOOD, **changes}.items() if value is not None}
    with pytest.raises(ValueError, match=f"imagery sat: .*{message}"):
        load_settings(data_dir=tmp_path, imagery=[source])


def test_names_are_distinct(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="imagery: names must be distinct"):
        load_settings(data_dir=tmp_path, imagery=[GOOD, GOOD])

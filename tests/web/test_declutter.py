"""Decluttering by echelon (src/tessera/web/static/declutter.js), run by node on a small
order of battle: companies fold into their battalion below zoom 9.5, the battalion (its
headquarters and companies) into the brigade below 8; points that are not units never fold."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DECLUTTER = ROOT / "src" / "tessera" / "web" / "static" / "declutter.js"
CHECK = Path(__file__).with_name("declutter_check.mjs")


@pytest.fixture(scope="module")
def folded() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed")
    out = subprocess.run(
        [node, str(CHECK), DECLUTTER.as_uri()], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_echelons_are_read_from_unit_sidcs_only(folded: dict[str, Any]) -> None:
    assert folded["echelons"] == ["15", None, None]


def test_zoomed_in_every_unit_is_drawn_on_its_own(folded: dict[str, Any]) -> None:
    assert folded["zooms"]["12"] == {
        "own": ["a", "b", "c", "hostile-marker", "hq", "lone"],
        "formations": [],
    }


def test_companies_fold_into_their_battalion(folded: dict[str, Any]) -> None:
    at9 = folded["zooms"]["9"]
    # The headquarters' own track lends the formation its symbol and joins it.
    assert at9["own"] == ["hostile-marker", "lone"]
    bn1, bn2 = at9["formations"]
    assert bn1 == {
        "formation": "BN-1",
        "count": 3,
        "sidc": "10031002161211000000",
        "members": ["a", "b", "hq"],
        "at": [16.133, 53.067],
    }
    # A battalion with no track of its own: its members' symbol, one echelon up.
    assert bn2["formation"] == "BN-2" and bn2["members"] == ["c"]
    assert bn2["sidc"] == "10031000161205000000"


def test_battalions_fold_into_their_brigade_further_out(folded: dict[str, Any]) -> None:
    at7 = folded["zooms"]["7"]
    assert at7["own"] == ["hostile-marker", "lone"]
    formations = {f["formation"]: f for f in at7["formations"]}
    assert formations["BDE-1"]["members"] == ["a", "b", "hq"]
    assert formations["BDE-1"]["sidc"] == "10031000181211000000"
    assert folded["zooms"]["6"]["formations"] == at7["formations"]

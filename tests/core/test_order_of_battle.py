"""The settings' order of battle: a unit's formation and echelon filled in where its own
reports say nothing of them, never over what they say."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tessera.core.fusion.engine import KalmanTracker
from tessera.core.fusion.settings import FusionSettings
from tessera.core.labels import ClassificationScheme
from tessera.core.order_of_battle import Echelon, Placement, placed, with_echelon
from tessera.settings import load_settings
from tests.core.fusion_support import feed, only, unit_report

# A friendly infantry unit with no echelon, and a friendly fixed-wing aircraft.
INFANTRY = "10031000001211000000"
AIRCRAFT = "10030100001101000000"


def engine(order: dict[str, Placement]) -> KalmanTracker:
    return KalmanTracker(
        ClassificationScheme(), FusionSettings(batch_seconds=0.001, order_of_battle=order)
    )


def test_a_units_track_takes_its_formation_and_echelon_from_the_settings() -> None:
    tracker = engine({"bn-1": Placement(parent="bde-12", echelon=Echelon.BATTALION)})
    feed(tracker, [msgspec.structs.replace(unit_report(at=0), sidc=INFANTRY)])
    track = only(tracker)
    assert track.parent == "bde-12"
    assert track.sidc[8:10] == "16"
    assert track.sidc[:8] + track.sidc[10:] == INFANTRY[:8] + INFANTRY[10:]


def test_what_a_units_reports_say_wins_over_the_settings() -> None:
    tracker = engine({"bn-1": Placement(parent="bde-12", echelon=Echelon.BATTALION)})
    company = INFANTRY[:8] + "15" + INFANTRY[10:]
    feed(
        tracker,
        [msgspec.structs.replace(unit_report(at=0), sidc=company, parent="bde-7")],
    )
    track = only(tracker)
    assert track.parent == "bde-7" and track.sidc[8:10] == "15"


def test_units_the_settings_do_not_name_are_left_as_they_are() -> None:
    tracker = engine({"someone-else": Placement(parent="bde-12")})
    feed(tracker, [unit_report(at=0)])
    assert only(tracker).parent is None
    # An empty table changes nothing.
    track = only(tracker)
    assert placed(track, {}) is track


def test_an_echelon_goes_only_on_a_land_unit() -> None:
    assert with_echelon(AIRCRAFT, Echelon.BRIGADE) == AIRCRAFT
    assert with_echelon("not a sidc", Echelon.BRIGADE) == "not a sidc"
    assert with_echelon(INFANTRY, Echelon.DIVISION)[8:10] == "21"


def test_the_settings_file_states_the_order_of_battle(tmp_path: Path) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text(
        "[order_of_battle]\n"
        '"BLUE-COY-7" = { parent = "BLUE-BN-2", echelon = "company" }\n'
        '"BLUE-BN-2" = { parent = "BLUE-BDE-0" }\n'
    )
    settings = load_settings(config, data_dir=tmp_path)
    assert settings.order_of_battle == {
        "BLUE-COY-7": Placement(parent="BLUE-BN-2", echelon=Echelon.COMPANY),
        "BLUE-BN-2": Placement(parent="BLUE-BDE-0"),
    }


def test_a_change_to_the_order_of_battle_keeps_the_checkpoints() -> None:
    # Applied to tracks as shown, never to the fused state: the fingerprint stays.
    from tessera.checkpointing import fingerprint
    from tessera.core.labels import DEFAULT_PICTURE

    placed_units = FusionSettings(order_of_battle={"bn-1": Placement(parent="bde-12")})
    assert fingerprint(DEFAULT_PICTURE, placed_units, ["U"]) == fingerprint(
        DEFAULT_PICTURE, FusionSettings(), ["U"]
    )

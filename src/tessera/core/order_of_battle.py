"""The order of battle a deployment states in its settings: which formation a unit
belongs to, and its echelon, by the unit's subject (its uid). Pure: no I/O.

What a unit's own reports say wins (a CoT ``link relation="p-p"``, a report's
``parent``, the echelon in its SIDC); the table fills in what they leave out, so a unit
whose reports say nothing of its formation is still folded into it on the map and sent
out with it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

import msgspec

from tessera.core.model import Identifier, Track
from tessera.core.symbols import SIDC_LENGTH, sidc_problem

# APP-6(D) land units (symbol set 10) carry their echelon in digits 9 and 10.
LAND_UNIT_SET: Final = "10"
_ECHELON_DIGITS: Final = slice(8, 10)
_NO_ECHELON: Final = "00"


class Echelon(enum.StrEnum):
    TEAM = "team"
    SQUAD = "squad"
    SECTION = "section"
    PLATOON = "platoon"
    COMPANY = "company"
    BATTALION = "battalion"
    REGIMENT = "regiment"
    BRIGADE = "brigade"
    DIVISION = "division"
    CORPS = "corps"
    ARMY = "army"


ECHELON_CODES: Final = {
    Echelon.TEAM: "11",
    Echelon.SQUAD: "12",
    Echelon.SECTION: "13",
    Echelon.PLATOON: "14",
    Echelon.COMPANY: "15",
    Echelon.BATTALION: "16",
    Echelon.REGIMENT: "17",
    Echelon.BRIGADE: "18",
    Echelon.DIVISION: "21",
    Echelon.CORPS: "22",
    Echelon.ARMY: "23",
}


class Placement(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One unit's place: the subject of its formation, and its echelon."""

    parent: Identifier | None = None
    echelon: Echelon | None = None


OrderOfBattle = Mapping[str, Placement]


def with_echelon(sidc: str, echelon: Echelon) -> str:
    """A land unit's SIDC with ``echelon``; any other SIDC unchanged."""
    if sidc_problem(sidc) is not None or sidc[4:6] != LAND_UNIT_SET:
        return sidc
    return sidc[:8] + ECHELON_CODES[echelon] + sidc[10:SIDC_LENGTH]


def placed(track: Track, order: OrderOfBattle) -> Track:
    """``track`` with what the order of battle says of its subject and its reports do not."""
    if track.subject is None or not order:
        return track
    placement = order.get(track.subject)
    if placement is None:
        return track
    parent = track.parent or placement.parent
    sidc = track.sidc
    if placement.echelon is not None and sidc[_ECHELON_DIGITS] == _NO_ECHELON:
        sidc = with_echelon(sidc, placement.echelon)
    if parent == track.parent and sidc == track.sidc:
        return track
    return msgspec.structs.replace(track, parent=parent, sidc=sidc)

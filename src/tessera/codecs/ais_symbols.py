"""AIS ship types (ITU-R M.1371-5, table 53) to APP-6(D) sea-surface SIDCs (symbol set
30, civilian entities 14xxxx of MIL-STD-2525D table A-XXI)."""

from __future__ import annotations

from typing import Final

SEA_SURFACE_UNSPECIFIED: Final = "000000"
# Entity codes (positions 11-16) of the sea-surface symbol set.
_CIVILIAN: Final = "140000"
_MERCHANT: Final = "140100"
_CARGO: Final = "140101"
_DREDGE: Final = "140103"
_TOW: Final = "140112"
_TUG: Final = "140111"
_TANKER: Final = "140109"
_PASSENGER: Final = "140110"
_HAZARDOUS: Final = "140113"
_HOSPITAL: Final = "140116"
_FISHING: Final = "140200"
_LAW_ENFORCEMENT: Final = "140300"
_SAILING: Final = "140400"
_MOTORIZED: Final = "140500"
_MILITARY: Final = "120000"
_NONCOMBATANT: Final = "130000"

_BY_TYPE: Final[dict[int, str]] = {
    30: _FISHING,
    31: _TOW,
    32: _TOW,
    33: _DREDGE,
    34: _CIVILIAN,  # diving operations
    35: _MILITARY,
    36: _SAILING,
    37: _MOTORIZED,  # pleasure craft
    50: _MERCHANT,  # pilot vessel
    51: _NONCOMBATANT,  # search and rescue
    52: _TUG,
    53: _MERCHANT,  # port tender
    54: _MERCHANT,  # anti-pollution equipment
    55: _LAW_ENFORCEMENT,
    58: _HOSPITAL,  # medical transport
}


def ship_entity(ship_type: int) -> str:
    """The sea-surface entity code (six digits) of an AIS ship type."""
    if ship_type in _BY_TYPE:
        return _BY_TYPE[ship_type]
    tens, unit = divmod(ship_type, 10)
    if tens == 4:
        return _MERCHANT  # high-speed craft
    if tens == 6:
        return _PASSENGER
    if tens == 7:
        return _HAZARDOUS if 1 <= unit <= 4 else _CARGO
    if tens == 8:
        return _TANKER
    if tens in (2, 9) or 20 <= ship_type <= 99:
        return _CIVILIAN
    return SEA_SURFACE_UNSPECIFIED


def ship_sidc(ship_type: int | None, identity_digit: str = "4") -> str:
    """A 20-digit sea-surface SIDC for an AIS ship type (None: not yet known)."""
    entity = SEA_SURFACE_UNSPECIFIED if ship_type is None else ship_entity(ship_type)
    return f"100{identity_digit}300000{entity}0000"

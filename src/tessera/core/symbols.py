"""APP-6(D) / MIL-STD-2525D 20-digit symbol identification codes (SIDCs).

Layout (APP-6(D) §A, MIL-STD-2525D table A-I): positions 1-2 version, 3 context,
4 standard identity, 5-6 symbol set, 7 status, 8 HQ/task force/dummy, 9-10 amplifier,
11-16 entity/type/subtype, 17-18 and 19-20 modifiers.
"""

from __future__ import annotations

from typing import Final

from tessera.core.model import Identity

SIDC_LENGTH: Final = 20

# Versions: 10 = APP-6(D) / 2525D, 11 = 2525D change 1, 13 = APP-6(E) / 2525E.
KNOWN_VERSIONS: Final = frozenset({"10", "11", "13"})

# Symbol sets of APP-6(D) (table A-II).
SYMBOL_SETS: Final = {
    "00": "unknown",
    "01": "air",
    "02": "air missile",
    "05": "space",
    "06": "space missile",
    "10": "land unit",
    "11": "land civilian unit/organization",
    "15": "land equipment",
    "20": "land installation",
    "25": "control measure",
    "27": "dismounted individual",
    "30": "sea surface",
    "35": "sea subsurface",
    "36": "mine warfare",
    "40": "activity/event",
    "45": "atmospheric",
    "46": "oceanographic",
    "47": "meteorological space",
    "50": "signals intelligence space",
    "51": "signals intelligence air",
    "52": "signals intelligence land",
    "53": "signals intelligence surface",
    "54": "signals intelligence subsurface",
    "60": "cyberspace",
}

IDENTITY_DIGIT: Final = {
    Identity.PENDING: "0",
    Identity.UNKNOWN: "1",
    Identity.ASSUMED_FRIEND: "2",
    Identity.FRIEND: "3",
    Identity.NEUTRAL: "4",
    Identity.SUSPECT: "5",
    Identity.HOSTILE: "6",
}
DIGIT_IDENTITY: Final = {digit: identity for identity, digit in IDENTITY_DIGIT.items()}


def sidc_problem(sidc: str) -> str | None:
    """Why ``sidc`` is not a well-formed 20-digit SIDC, or ``None`` if it is."""
    if len(sidc) != SIDC_LENGTH or not sidc.isascii() or not sidc.isdigit():
        return "must be 20 decimal digits (APP-6(D) SIDC)"
    if sidc[0:2] not in KNOWN_VERSIONS:
        return f"unknown SIDC version {sidc[0:2]!r}"
    if sidc[2] not in "012":
        return f"unknown context digit {sidc[2]!r}"
    if sidc[3] not in DIGIT_IDENTITY:
        return f"unknown standard identity digit {sidc[3]!r}"
    if sidc[4:6] not in SYMBOL_SETS:
        return f"unknown symbol set {sidc[4:6]!r}"
    return None


def identity_of(sidc: str) -> Identity:
    return DIGIT_IDENTITY[sidc[3]]


def symbol_set(sidc: str) -> str:
    return sidc[4:6]


def with_identity(sidc: str, identity: Identity) -> str:
    """The same symbol drawn with another standard identity."""
    return sidc[:3] + IDENTITY_DIGIT[identity] + sidc[4:]


def generic_sidc(identity: Identity, symbol_set_code: str = "10") -> str:
    """The generic symbol of an identity and symbol set (no entity)."""
    return "100" + IDENTITY_DIGIT[identity] + symbol_set_code + "00000000000000"

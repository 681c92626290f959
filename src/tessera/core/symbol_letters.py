"""15-character 2525B/C (APP-6A/B) letter codes: their layout, and the parts that carry over
to 20-digit APP-6(D) / 2525D SIDCs.

Facts from MIL-STD-2525C (warfighting, appendix A; tactical graphics, B; METOC, C;
SIGINT, D; stability operations, E; emergency management, G) and MIL-STD-2525D table A-I.
Positions, counted from 1 as the standards do:

* S, I, O, E, G: 1 coding scheme, 2 affiliation, 3 battle dimension or category, 4 status,
  5-10 function id, 11-12 symbol modifier (HQ/task force/feint-dummy and echelon, or
  mobility, or installation), 13-14 country, 15 order of battle.
* W (METOC): 1 scheme, 2 category, 3 static or dynamic, 4 unused, 5-10 function id,
  11-13 graphic type, 14-15 unused. METOC symbols have no identity, status or echelon.

A ``*`` in any position is read as ``-`` (not given), as the standards' own templates
write them. Pure.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from tessera.core.symbol_entry import Entry

LETTER_LENGTH: Final = 15
NO_FUNCTION: Final = "------"

# Battle dimensions (S, I) and categories (O, E, G, W) of each coding scheme.
DIMENSIONS: Final = {
    "S": {
        "P": "space",
        "A": "air",
        "G": "ground",
        "S": "sea surface",
        "U": "subsurface",
        "F": "special operations forces",
        "X": "other",
        "Z": "unknown",
    },
    "I": {"P": "space", "A": "air", "G": "ground", "S": "sea surface", "U": "subsurface"},
    "O": {
        "V": "violent activities",
        "L": "locations",
        "O": "operations",
        "I": "items",
        "P": "individual",
        "G": "nonmilitary group or organization",
        "R": "rape",
    },
    "E": {"I": "incident", "N": "natural event", "O": "operations", "F": "infrastructure"},
    "G": {
        "T": "tasks",
        "G": "command and control and general maneuver",
        "M": "mobility/survivability",
        "F": "fire support",
        "S": "combat service support",
        "O": "other",
    },
    "W": {"A": "atmospheric", "O": "oceanographic", "S": "space"},
}
SCHEMES: Final = frozenset(DIMENSIONS)
METOC_STATES: Final = frozenset("SD-")  # static, dynamic, not given

# Affiliation letter -> APP-6(D) context and standard identity digits: reality, exercise
# (G, W, M, D, L; J joker and K faker are exercise suspect and hostile).
AFFILIATION_DIGITS: Final = {
    "P": "00",
    "U": "01",
    "A": "02",
    "F": "03",
    "N": "04",
    "S": "05",
    "H": "06",
    "G": "10",
    "W": "11",
    "M": "12",
    "D": "13",
    "L": "14",
    "J": "15",
    "K": "16",
}
DIGITS_AFFILIATION: Final = {digits: letter for letter, digits in AFFILIATION_DIGITS.items()}

# Status: anticipated/planned, present, and the operational conditions of present.
STATUS_DIGIT: Final = {"P": "0", "A": "1", "C": "2", "D": "3", "X": "4", "F": "5"}
DIGIT_STATUS: Final = {digit: letter for letter, digit in STATUS_DIGIT.items()}
GRAPHIC_STATUSES: Final = frozenset("PA")  # tactical graphics are present or anticipated

# Position 11 -> SIDC position 8 (HQ/task force/feint-dummy).
HEADQUARTERS_DIGIT: Final = {
    "-": "0",
    "A": "2",  # headquarters
    "B": "6",  # task force headquarters
    "C": "3",  # feint/dummy headquarters
    "D": "7",  # feint/dummy task force headquarters
    "E": "4",  # task force
    "F": "1",  # feint/dummy
    "G": "5",  # feint/dummy task force
}
DIGIT_HEADQUARTERS: Final = {digit: letter for letter, digit in HEADQUARTERS_DIGIT.items()}
INSTALLATION: Final = "H"  # position 11; position 12 "B" is a feint/dummy installation
MOBILITY: Final = "M"
TOWED_ARRAY: Final = "N"

# Position 12 -> SIDC positions 9-10 (echelon, or mobility and towed array after M or N).
ECHELON_DIGITS: Final = {
    "A": "11",  # team/crew
    "B": "12",  # squad
    "C": "13",  # section
    "D": "14",  # platoon/detachment
    "E": "15",  # company/battery/troop
    "F": "16",  # battalion/squadron
    "G": "17",  # regiment/group
    "H": "18",  # brigade
    "I": "21",  # division
    "J": "22",  # corps
    "K": "23",  # army
    "L": "24",  # army group/front
    "M": "25",  # region/theater
    "N": "26",  # command
}
MOBILITY_DIGITS: Final = {
    "O": "31",  # wheeled, limited cross-country
    "P": "32",  # wheeled, cross-country
    "Q": "33",  # tracked
    "R": "34",  # wheeled and tracked
    "S": "35",  # towed
    "T": "36",  # rail
    "W": "37",  # pack animals
    "U": "41",  # over snow
    "V": "42",  # sled
    "X": "51",  # barge
    "Y": "52",  # amphibious
}
TOWED_ARRAY_DIGITS: Final = {"S": "61", "L": "62"}  # short, long
AMPLIFIER_LETTERS: Final = {
    **{digits: ("-", letter) for letter, digits in ECHELON_DIGITS.items()},
    **{digits: (MOBILITY, letter) for letter, digits in MOBILITY_DIGITS.items()},
    **{digits: (TOWED_ARRAY, letter) for letter, digits in TOWED_ARRAY_DIGITS.items()},
}

# METOC category <-> symbol set; the METOC lines that 2525D moved elsewhere (a volcanic
# eruption is an activity, a drifting mine a sea mine) keep their category.
METOC_SYMBOL_SET: Final = {"A": "45", "O": "46", "S": "47"}
METOC_CATEGORY: Final = {"45": "A", "46": "O", "47": "S", "40": "A", "36": "O"}

# The generic symbol of each battle dimension or category: 2525C draws an empty frame,
# 2525D the symbol set with entity 000000. JMSML maps the stability operations and
# emergency management frames, and a SOF unit without a function, to land units.
FRAMES: Final = (
    Entry("S*P*------", "050000000000"),
    Entry("S*A*------", "010000000000"),
    Entry("S*G*------", "100000000000"),
    Entry("S*G*U-----", "100000000000", reverse=False),
    Entry("S*G*E-----", "150000000000"),
    Entry("S*G*I-----", "200000000000"),
    Entry("S*S*------", "300000000000"),
    Entry("S*U*------", "350000000000"),
    Entry("S*Z*------", "000000000000"),
    Entry("I*P*------", "500000000000"),
    Entry("I*A*------", "510000000000"),
    Entry("I*G*------", "520000000000"),
    Entry("I*S*------", "530000000000"),
    Entry("I*U*------", "540000000000"),
    *(Entry(f"O*{c}*------", "100000000000", reverse=False) for c in "VLOI"),
    *(Entry(f"E*{c}*------", "100000000000", reverse=False) for c in "INOF"),
    *(Entry(f"G*{c}*------", "250000000000", reverse=False) for c in "TGMFSO"),
)

# Where a 20-digit symbol set, or an entity in it, has no letter code: the nearest generic
# one of the same dimension.
SYMBOL_SET_LETTERS: Final = {
    "00": "S*Z*------",
    "01": "S*A*------",
    "02": "S*A*W-----",
    "05": "S*P*------",
    "06": "S*P*------",
    "10": "S*G*U-----",
    "11": "S*G*U-----",
    "15": "S*G*E-----",
    "20": "S*G*I-----",
    "25": "G*G*------",
    "27": "S*G*U-----",
    "30": "S*S*------",
    "35": "S*U*------",
    "36": "S*U*------",
    "40": "S*G*------",
    "45": "W*-*------",
    "46": "W*-*------",
    "47": "W*-*------",
    "50": "I*P*------",
    "51": "I*A*------",
    "52": "I*G*------",
    "53": "I*S*------",
    "54": "I*U*------",
    "60": "S*Z*------",
}


class LetterCode(NamedTuple):
    """A 15-character code taken apart (``-`` where a position is not given)."""

    scheme: str
    affiliation: str  # METOC: the category
    dimension: str  # METOC: static or dynamic
    status: str
    function: str
    modifier: str  # positions 11-12
    country: str  # positions 13-14
    order_of_battle: str

    @property
    def letters(self) -> str:
        """The ten characters that name the symbol (``Entry.letters``)."""
        return f"{self.scheme}*{self.dimension}*{self.function}"


def parse_letter_code(code: str) -> LetterCode:
    """A 2525B/C code of 10 to 15 characters taken apart (trailing ``-`` may be left out);
    ``ValueError`` for anything that is not one."""
    if not 10 <= len(code) <= LETTER_LENGTH or not code.isascii():
        raise ValueError(f"not a 2525B/C letter code of 10 to 15 characters: {code[:20]!r}")
    text = code.upper().replace("*", "-").ljust(LETTER_LENGTH, "-")
    if not all(char.isalnum() or char == "-" for char in text):
        raise ValueError(f"2525B/C codes are letters, digits and '-': {code[:20]!r}")
    scheme, affiliation, dimension, status = text[0], text[1], text[2], text[3]
    if scheme not in SCHEMES:
        raise ValueError(f"unknown 2525C coding scheme {scheme!r}")
    if scheme == "W":
        if affiliation not in DIMENSIONS["W"]:
            raise ValueError(f"unknown 2525C METOC category {affiliation!r}")
        if dimension not in METOC_STATES:
            raise ValueError(f"unknown 2525C METOC static/dynamic letter {dimension!r}")
        return LetterCode("W", affiliation, dimension, "-", text[4:10], "--", "--", "-")
    if affiliation != "-" and affiliation not in AFFILIATION_DIGITS:
        raise ValueError(f"unknown 2525C affiliation {affiliation!r}")
    if dimension not in DIMENSIONS[scheme]:
        raise ValueError(f"unknown 2525C battle dimension or category {dimension!r}")
    if status != "-" and status not in STATUS_DIGIT:
        raise ValueError(f"unknown 2525C status {status!r}")
    return LetterCode(
        scheme, affiliation, dimension, status, text[4:10], text[10:12], text[12:14], text[14]
    )


def compose_letter_code(letters: str, affiliation: str, status: str, modifier: str) -> str:
    """The 15 characters of the symbol ``letters`` (``Entry.letters``) with an
    affiliation (METOC: category), status and symbol modifier; no country or order of
    battle."""
    if letters[0] == "W":
        return f"W{affiliation}{letters[2]}-{letters[4:10]}-----"
    return f"{letters[0]}{affiliation}{letters[2]}{status}{letters[4:10]}{modifier}---"


def parent_letters(letters: str) -> str | None:
    """The letters of the next more general symbol (the function id one character
    shorter), or None for a frame."""
    function = letters[4:10].rstrip("-")
    if not function:
        return None
    return f"{letters[:4]}{function[:-1]:-<6}"

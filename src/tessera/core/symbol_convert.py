"""2525B/C (APP-6A/B) letter codes <-> APP-6(D) / 2525D 20-digit SIDCs, both ways.

The symbol itself goes through the crosswalk tables (``tessera.core.symbol_table_*``);
affiliation, status, HQ/task force/feint-dummy, echelon, mobility and towed array carry
over position by position where both schemes say them (``tessera.core.symbol_letters``).
Every answer is a ``Conversion``: exact, or the nearest more general symbol (at worst the
generic symbol of the same identity and dimension) with ``exact=False`` and the reason.
Country and order of battle, which a 20-digit SIDC does not hold, are dropped with a
reason too. Anything that is not a code at all is a ``ValueError``. Pure.
"""

from __future__ import annotations

from typing import Final

import msgspec

from tessera.core.symbol_entry import Entry
from tessera.core.symbol_letters import (
    AFFILIATION_DIGITS,
    AMPLIFIER_LETTERS,
    DIGIT_HEADQUARTERS,
    DIGIT_STATUS,
    DIGITS_AFFILIATION,
    DIMENSIONS,
    ECHELON_DIGITS,
    FRAMES,
    GRAPHIC_STATUSES,
    HEADQUARTERS_DIGIT,
    INSTALLATION,
    METOC_CATEGORY,
    METOC_SYMBOL_SET,
    MOBILITY,
    MOBILITY_DIGITS,
    STATUS_DIGIT,
    SYMBOL_SET_LETTERS,
    TOWED_ARRAY,
    TOWED_ARRAY_DIGITS,
    LetterCode,
    compose_letter_code,
    parent_letters,
    parse_letter_code,
)
from tessera.core.symbol_table_air_space_sea import ENTRIES as AIR_SPACE_SEA
from tessera.core.symbol_table_graphics import ENTRIES as GRAPHICS
from tessera.core.symbol_table_land_equipment import ENTRIES as LAND_EQUIPMENT
from tessera.core.symbol_table_land_units import ENTRIES as LAND_UNITS
from tessera.core.symbol_table_metoc import ENTRIES as METOC
from tessera.core.symbol_table_sigint_stability_emergency import ENTRIES as SIGINT_SO_EM
from tessera.core.symbols import SYMBOL_SETS, sidc_problem

SIDC_VERSION: Final = "10"  # what Tessera writes: APP-6(D) / 2525D
NO_SYMBOL: Final = "0000000000"  # entity and sector modifiers of a generic symbol
METOC_SETS: Final = frozenset(METOC_SYMBOL_SET.values())

ENTRIES: Final = (
    *FRAMES,
    *AIR_SPACE_SEA,
    *LAND_UNITS,
    *LAND_EQUIPMENT,
    *GRAPHICS,
    *METOC,
    *SIGINT_SO_EM,
)


_FORWARD: Final = {entry.letters: entry for entry in ENTRIES if entry.forward}
_REVERSE: Final = {entry.symbol: entry for entry in ENTRIES if entry.reverse}
_NOT_DRAWN: Final = frozenset(entry.symbol for entry in ENTRIES if not entry.drawn)


class Conversion(msgspec.Struct, frozen=True, kw_only=True):
    """A converted code; ``exact=False`` with the ``reason`` when it is a fallback or
    something was dropped."""

    code: str
    exact: bool
    reason: str | None = None


def sidc_of_letter_code(code: str) -> Conversion:
    """The 20-digit SIDC of a 2525B/C letter code (10 to 15 characters); ``ValueError``
    for anything that is not one."""
    parsed = parse_letter_code(code)
    reasons: list[str] = []
    entry = _forward_entry(parsed, reasons)
    if parsed.scheme == "W":
        # METOC symbols have no identity, status or amplifiers.
        prefix = "0" + "0" + entry.symbol[:2] + "0" + "0" + "00"
    else:
        headquarters, amplifier = _modifier_digits(parsed, entry, reasons)
        prefix = (
            _identity_digits(parsed.affiliation, reasons)
            + entry.symbol[:2]
            + _status_digit(parsed.status, reasons)
            + headquarters
            + amplifier
        )
        if parsed.country != "--":
            reasons.append(f"country {parsed.country!r} is not part of a 20-digit SIDC: dropped")
        if parsed.order_of_battle != "-":
            reasons.append(
                f"order of battle {parsed.order_of_battle!r} is not part of a 20-digit SIDC:"
                " dropped"
            )
    sidc = SIDC_VERSION + prefix + entry.symbol[2:]
    return Conversion(code=sidc, exact=not reasons, reason="; ".join(reasons) or None)


def letter_code_of_sidc(sidc: str) -> Conversion:
    """The 15-character 2525C letter code of a 20-digit SIDC (any known version);
    ``ValueError`` for a SIDC that is not well formed."""
    problem = sidc_problem(sidc)
    if problem:
        raise ValueError(f"not an APP-6(D) SIDC: {problem}")
    reasons: list[str] = []
    symbol_set = sidc[4:6]
    entry, left_out = reverse_entry(symbol_set, sidc[10:20])
    if entry is None:
        letters = SYMBOL_SET_LETTERS[symbol_set]
        reasons.append(f"symbol set {_set_name(symbol_set)!r} has no 2525C counterpart: {letters}")
        entry = Entry(letters, symbol_set + NO_SYMBOL)
    elif left_out:
        reasons.append(f"no 2525C counterpart for {left_out}: drawn as {entry.letters}")
    if entry.letters[0] == "W":
        if sidc[7:10] != "000":
            reasons.append("METOC letter codes have no amplifiers: dropped")
        category = METOC_CATEGORY[entry.symbol[:2]]
        letter_code = compose_letter_code(entry.letters, category, "-", "--")
    else:
        affiliation = _affiliation_letter(sidc[2], sidc[3], reasons)
        status = _status_letter(entry, sidc[6], reasons)
        modifier = _modifier_letters(entry, sidc[7], sidc[8:10], reasons)
        letter_code = compose_letter_code(entry.letters, affiliation, status, modifier)
    return Conversion(code=letter_code, exact=not reasons, reason="; ".join(reasons) or None)


def reverse_entry(
    symbol_set: str, code: str, schemes: str = "SIOEGW"
) -> tuple[Entry | None, str | None]:
    """The crosswalk line of a 2525D symbol (its symbol set, and entity and sector
    modifiers as ``code``) with a letter code of one of ``schemes``: the symbol's own;
    else its nearest listed ancestor and what of the symbol that leaves out; else None."""
    entity, modifiers = code[:6], code[6:]
    found = _REVERSE.get(symbol_set + code)
    if found is not None and found.letters[0] in schemes:
        return found, None
    what = f"entity {entity} of symbol set {_set_name(symbol_set)!r}"
    ancestors = [
        (entity + modifiers[:2] + "00", f"sector modifier 2 {modifiers[2:]!r}"),
        (entity + "0000", f"sector modifiers {modifiers[:2]}/{modifiers[2:]}"),
        (entity[:4] + "000000", what),
        (entity[:2] + "00000000", what),
        (NO_SYMBOL, what),
    ]
    for candidate, left_out in ancestors:
        found = _REVERSE.get(symbol_set + candidate)
        if candidate != code and found is not None and found.letters[0] in schemes:
            return found, left_out
    return None, None


def forward_entry(letters: str) -> Entry | None:
    """The crosswalk line a letter code (``Entry.letters``) converts by, if listed. The
    crosswalk gives some METOC symbols with one static/dynamic letter only; another
    letter finds that line (and, not being the code's own, says so)."""
    entry = _FORWARD.get(letters)
    if entry is not None or letters[0] != "W":
        return entry
    return next(
        (
            _FORWARD[other]
            for state in "S-D"
            if (other := letters[:2] + state + letters[3:]) in _FORWARD
        ),
        None,
    )


def drawn_as_point(sidc: str) -> bool:
    """False for a line or area graphic or METOC symbol of the tables, which the web map's
    point symbol renderer (milsymbol) does not draw; True otherwise."""
    symbol = sidc[4:6] + sidc[10:20]
    if symbol[:2] in METOC_SETS and symbol[2:] != NO_SYMBOL:
        return False
    return symbol not in _NOT_DRAWN


def _forward_entry(parsed: LetterCode, reasons: list[str]) -> Entry:
    letters: str | None = parsed.letters
    while letters is not None:
        entry = forward_entry(letters)
        if entry is not None:
            if entry.letters != parsed.letters:
                reasons.append(
                    f"no APP-6(D) counterpart for {parsed.letters}: drawn as {_describe(entry)}"
                )
            return entry
        letters = parent_letters(letters)
    if parsed.scheme == "W":
        symbol_set = METOC_SYMBOL_SET[parsed.affiliation]
        reasons.append(
            f"no APP-6(D) counterpart for {parsed.letters}: drawn as the generic"
            f" {DIMENSIONS['W'][parsed.affiliation]} symbol"
        )
        return Entry("W*-*------", symbol_set + NO_SYMBOL)
    reasons.append(f"battle dimension {parsed.dimension!r} has no APP-6(D) symbol set")
    return Entry("S*Z*------", "00" + NO_SYMBOL)


def _describe(entry: Entry) -> str:
    if entry.letters[4:].strip("-"):
        return entry.letters
    dimension = DIMENSIONS[entry.letters[0]].get(entry.letters[2], "")
    return f"the generic {dimension} symbol ({entry.letters})"


def _identity_digits(affiliation: str, reasons: list[str]) -> str:
    if affiliation == "-":
        reasons.append("no affiliation: unknown")
        return AFFILIATION_DIGITS["U"]
    return AFFILIATION_DIGITS[affiliation]


def _status_digit(status: str, reasons: list[str]) -> str:
    if status == "-":
        reasons.append("no status: present")
        return STATUS_DIGIT["P"]
    return STATUS_DIGIT[status]


def _modifier_digits(parsed: LetterCode, entry: Entry, reasons: list[str]) -> tuple[str, str]:
    """SIDC positions 8 and 9-10 of the symbol modifier (letter positions 11-12)."""
    first, second = parsed.modifier[0], parsed.modifier[1]
    if parsed.modifier == "--":
        return "0", "00"
    if parsed.scheme == "I" or (parsed.scheme == "G" and first != "-"):
        reasons.append(f"symbol modifier {parsed.modifier!r} is not one of this scheme: dropped")
        return "0", "00"
    if first == INSTALLATION:
        if entry.symbol[:2] != "20":
            reasons.append("an installation modifier on a symbol that is none: dropped")
        if second not in "-B":
            reasons.append(f"installation modifier {parsed.modifier!r} unknown: dropped")
        return ("1" if second == "B" else "0"), "00"
    table = {MOBILITY: MOBILITY_DIGITS, TOWED_ARRAY: TOWED_ARRAY_DIGITS}.get(first)
    if table is not None:
        if second not in table:
            reasons.append(f"symbol modifier {parsed.modifier!r} unknown: dropped")
            return "0", "00"
        return "0", table[second]
    headquarters = HEADQUARTERS_DIGIT.get(first)
    if headquarters is None or (second != "-" and second not in ECHELON_DIGITS):
        reasons.append(f"symbol modifier {parsed.modifier!r} unknown: dropped")
        return "0", "00"
    return headquarters, ECHELON_DIGITS.get(second, "00")


def _affiliation_letter(context: str, identity: str, reasons: list[str]) -> str:
    if context not in "01":
        reasons.append("2525C has no simulation affiliations: drawn as reality")
        context = "0"
    return DIGITS_AFFILIATION[context + identity]


def _status_letter(entry: Entry, digit: str, reasons: list[str]) -> str:
    status = DIGIT_STATUS.get(digit)
    if status is None:
        reasons.append(f"status digit {digit!r} unknown: present")
        return "P"
    if entry.letters[0] == "G" and status not in GRAPHIC_STATUSES:
        reasons.append(f"2525C tactical graphics have no status {status!r}: present")
        return "P"
    return status


def _modifier_letters(entry: Entry, headquarters: str, amplifier: str, reasons: list[str]) -> str:
    """Letter positions 11-12 of SIDC positions 8 (HQ/TF/dummy) and 9-10 (amplifier)."""
    scheme, symbol_set = entry.letters[0], entry.symbol[:2]
    if scheme == "I":
        if headquarters != "0" or amplifier != "00":
            reasons.append("SIGINT letter codes have no HQ, task force, dummy or amplifier")
        return "--"
    if scheme == "G":
        if headquarters != "0":
            reasons.append("tactical graphics have no HQ, task force or dummy letter: dropped")
        return _graphic_modifier(amplifier, reasons)
    if scheme == "S" and symbol_set == "20":
        if headquarters not in "01" or amplifier != "00":
            reasons.append("an installation has no HQ, task force or amplifier letters: dropped")
        return INSTALLATION + ("B" if headquarters == "1" else "-")
    first = DIGIT_HEADQUARTERS.get(headquarters)
    if first is None:
        reasons.append(f"HQ/task force/dummy digit {headquarters!r} unknown: dropped")
        first = "-"
    if amplifier == "00":
        return first + "-"
    letters = AMPLIFIER_LETTERS.get(amplifier)
    if letters is None:
        reasons.append(f"amplifier {amplifier!r} unknown: dropped")
        return first + "-"
    if letters[0] == "-":
        return first + letters[1]
    if first != "-":  # position 11 says mobility or towed array, or HQ/TF/dummy: not both
        reasons.append("HQ, task force or dummy beside mobility has no letter: dropped")
    return letters[0] + letters[1]


def _graphic_modifier(amplifier: str, reasons: list[str]) -> str:
    letters = AMPLIFIER_LETTERS.get(amplifier)
    if amplifier == "00":
        return "--"
    if letters is None or letters[0] != "-":
        reasons.append(f"amplifier {amplifier!r} is no echelon: dropped")
        return "--"
    return "-" + letters[1]


def _set_name(symbol_set: str) -> str:
    return SYMBOL_SETS.get(symbol_set, symbol_set)

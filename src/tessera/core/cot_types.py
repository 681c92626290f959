"""CoT atom types <-> standard identity <-> 2525B/C letter codes <-> APP-6(D) SIDCs.

* CoT type and 15-character 2525B/C (APP-6A/B) code correspond mechanically:
  ``a-h-G-U-C-I`` is ``SHGPUCI--------`` (scheme S, affiliation, battle dimension,
  status P, function id padded with ``-``; size, country and order of battle unset).
* CoT type and 20-digit APP-6(D) SIDC (``tessera.core.symbols`` has the layout) go
  through that letter code and the 2525C <-> 2525D crosswalk of
  ``tessera.core.symbol_convert``. Where a code has no counterpart the answer is the
  nearest ancestor (at worst the generic symbol of the same identity and dimension) with
  ``exact=False`` and the reason: never a silent guess.

Affiliations: ``p`` pending, ``u`` unknown, ``a`` assumed friend, ``f`` friend, ``n``
neutral, ``s`` suspect, ``h`` hostile; ``j`` joker and ``k`` faker are exercise suspect
and hostile (APP-6(D) context 1). Amplifiers (status, HQ/task force/dummy, echelon) are
not part of a CoT type and are not carried, except a headquarters on an otherwise
unspecified land unit, which is CoT's ``a-.-G-U-H``. Pure.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import msgspec

from tessera.core.cot_symbol_table import SYMBOL_SET_FALLBACK
from tessera.core.model import Identity
from tessera.core.symbol_convert import (
    NO_SYMBOL,
    drawn_as_point,
    reverse_entry,
    sidc_of_letter_code,
)
from tessera.core.symbols import SYMBOL_SETS, identity_of, sidc_problem

AFFILIATION_IDENTITY: Final = {
    "p": Identity.PENDING,
    "u": Identity.UNKNOWN,
    "a": Identity.ASSUMED_FRIEND,
    "f": Identity.FRIEND,
    "n": Identity.NEUTRAL,
    "s": Identity.SUSPECT,
    "h": Identity.HOSTILE,
    "j": Identity.SUSPECT,  # joker: exercise suspect
    "k": Identity.HOSTILE,  # faker: exercise hostile
}
EXERCISE_AFFILIATIONS: Final = {Identity.SUSPECT: "j", Identity.HOSTILE: "k"}
IDENTITY_AFFILIATION: Final = {
    identity: letter for letter, identity in AFFILIATION_IDENTITY.items() if letter not in "jk"
}
# 2525B/C affiliation letters; the exercise ones CoT has no letter for become the plain
# identity (G, W, M, D, L: exercise pending, unknown, assumed friend, friend, neutral).
LETTER_AFFILIATION: Final = {
    **{letter.upper(): letter for letter in AFFILIATION_IDENTITY},
    "G": "p",
    "W": "u",
    "M": "a",
    "D": "f",
    "L": "n",
}
# Space, air, ground, sea surface, subsurface, SOF, other, unknown. A set, not a string:
# a type's dimension "XZ" is no dimension, though "XZ" is in "PAGSUFXZ".
DIMENSIONS: Final = frozenset("PAGSUFXZ")
MAX_FUNCTION_CHARS: Final = 6
_HEADQUARTERS_DIGITS: Final = frozenset("2367")  # HQ, dummy HQ, task force HQ, dummy TF HQ


class SymbolMatch(msgspec.Struct, frozen=True, kw_only=True):
    """The SIDC for a CoT type; ``exact=False`` with the ``reason`` when it is a nearest
    ancestor or the generic symbol."""

    sidc: str
    exact: bool
    reason: str | None = None


class TypeMatch(msgspec.Struct, frozen=True, kw_only=True):
    """The most specific CoT type for a SIDC; ``exact=False`` with the ``reason`` when
    the SIDC says more than the type can."""

    cot_type: str
    exact: bool
    reason: str | None = None


class Atom(NamedTuple):
    """A CoT atom type taken apart: ``a-<affiliation>-<dimension>-<function letters>``."""

    affiliation: str
    dimension: str | None
    function: str
    problem: str | None


def parse_atom(cot_type: str) -> Atom:
    """The parts of an atom (``a-…``) type; ``ValueError`` for any other type."""
    parts = cot_type.split("-")
    if parts[0] != "a" or len(parts) < 2 or len(parts[1]) != 1:
        raise ValueError(f"not a CoT atom type (a-<affiliation>-…): {cot_type[:40]!r}")
    dimension = parts[2].upper() if len(parts) > 2 and parts[2] else None
    segments = parts[3:]
    letters = []
    for segment in segments:
        if len(segment) != 1 or not segment.isascii() or not segment.isalnum():
            break
        letters.append(segment.upper())
    function = "".join(letters[:MAX_FUNCTION_CHARS])
    problem = None
    if len(function) < len(segments):
        problem = f"only the function id {function!r} of {'-'.join(segments)[:40]!r} is 2525C"
    return Atom(parts[1].lower(), dimension, function, problem)


def identity_of_type(cot_type: str) -> Identity | None:
    """The standard identity of an atom type (``unknown`` for an affiliation without
    one, such as ``o`` or ``x``); None for a type that is not an atom."""
    try:
        atom = parse_atom(cot_type)
    except ValueError:
        return None
    return AFFILIATION_IDENTITY.get(atom.affiliation, Identity.UNKNOWN)


def sidc_of_type(cot_type: str) -> SymbolMatch:
    """The APP-6(D) SIDC of an atom type; ``ValueError`` for a type that is not an atom."""
    atom = parse_atom(cot_type)
    reasons = [atom.problem] if atom.problem else []
    letter = atom.affiliation.upper()
    if atom.affiliation not in AFFILIATION_IDENTITY:
        reasons.append(f"affiliation {atom.affiliation!r} has no standard identity: unknown")
        letter = "U"
    dimension, function, modifier = atom.dimension, atom.function, "--"
    if dimension is None or dimension not in DIMENSIONS:
        reasons.append(
            "no battle dimension"
            if dimension is None
            else f"battle dimension {dimension!r} has no APP-6(D) symbol set"
        )
        dimension, function = "Z", ""
    elif (dimension, function) == ("G", "UH"):
        # 2525D retired the headquarters unit entity: it is the HQ amplifier on a unit.
        function, modifier = "U", "A-"
    conversion = sidc_of_letter_code(f"S{letter}{dimension}P{function:-<6}{modifier}")
    if conversion.reason:
        reasons.append(conversion.reason)
    return SymbolMatch(sidc=conversion.code, exact=not reasons, reason="; ".join(reasons) or None)


def type_of_sidc(sidc: str) -> TypeMatch:
    """The most specific CoT atom type a SIDC can be said as; ``ValueError`` for a SIDC
    that is not well formed."""
    problem = sidc_problem(sidc)
    if problem:
        raise ValueError(f"not an APP-6(D) SIDC: {problem}")
    identity, context = identity_of(sidc), sidc[2]
    reasons = []
    letter = IDENTITY_AFFILIATION[identity]
    if context == "1" and identity in EXERCISE_AFFILIATIONS:
        letter = EXERCISE_AFFILIATIONS[identity]
    elif context != "0":
        reasons.append("CoT types have no exercise or simulation identities")
    symbol_set, symbol = sidc[4:6], sidc[10:20]
    if symbol_set == "10" and symbol == NO_SYMBOL and sidc[7] in _HEADQUARTERS_DIGITS:
        dimension, function = "G", "UH"
    else:
        entry, left_out = reverse_entry(symbol_set, symbol, schemes="S")
        if entry is None:
            dimension, function = SYMBOL_SET_FALLBACK.get(symbol_set, ("G", ""))
            set_name = SYMBOL_SETS.get(symbol_set, symbol_set)
            reasons.append(f"symbol set {set_name!r} has no CoT atom counterpart")
        else:
            dimension, function = entry.letters[2], entry.letters[4:].rstrip("-")
            if left_out:
                reasons.append(f"no CoT type for {left_out}: {entry.letters}")
    return TypeMatch(
        cot_type=atom_type(letter, dimension, function),
        exact=not reasons,
        reason="; ".join(reasons) or None,
    )


def letter_code_of_type(cot_type: str) -> str:
    """The 15-character 2525B/C code of an atom type (``a-h-G-U-C-I`` ->
    ``SHGPUCI--------``); ``ValueError`` where there is none."""
    atom = parse_atom(cot_type)
    if atom.problem:
        raise ValueError(atom.problem)
    letter = atom.affiliation.upper()
    if letter not in LETTER_AFFILIATION:
        raise ValueError(f"affiliation {atom.affiliation!r} has no 2525C letter")
    if atom.dimension is None or atom.dimension not in DIMENSIONS:
        raise ValueError(f"battle dimension {atom.dimension!r} has no 2525C letter")
    return f"S{letter}{atom.dimension}P{atom.function:-<{MAX_FUNCTION_CHARS}}-----"


def type_of_letter_code(code: str) -> str:
    """The CoT atom type of a 2525B/C warfighting code (10 or 15 characters);
    ``ValueError`` for any other code."""
    if len(code) not in (10, 15) or not code.isascii():
        raise ValueError(f"not a 2525B/C code of 10 or 15 characters: {code[:20]!r}")
    if code[0] != "S":
        raise ValueError(f"only warfighting (S) codes are CoT atoms, got scheme {code[0]!r}")
    affiliation = LETTER_AFFILIATION.get(code[1])
    if affiliation is None:
        raise ValueError(f"unknown 2525C affiliation {code[1]!r}")
    if code[2] not in DIMENSIONS:
        raise ValueError(f"unknown 2525C battle dimension {code[2]!r}")
    function = code[4 : 4 + MAX_FUNCTION_CHARS].rstrip("-")
    if not (function.isalnum() or not function):
        raise ValueError(f"2525C function id {function!r} is not letters and digits")
    return atom_type(affiliation, code[2], function.upper())


def sidc_of_symbol_code(code: str) -> SymbolMatch | None:
    """The SIDC of a symbol code as TAK clients send it in ``__milsym``: a 20-digit
    APP-6(D) SIDC, a 30-digit 2525E one (its first 20 digits) or a 2525B/C letter code;
    None for anything else, and for a letter code of a line or area graphic or METOC
    symbol, which is no symbol for a point."""
    if len(code) == 30 and code.isascii() and code.isdigit() and not sidc_problem(code[:20]):
        return SymbolMatch(sidc=code[:20], exact=False, reason="2525E positions 21-30 dropped")
    if not sidc_problem(code):
        return SymbolMatch(sidc=code, exact=True)
    try:
        conversion = sidc_of_letter_code(code)
    except ValueError:
        return None
    if not drawn_as_point(conversion.code):
        return None
    return SymbolMatch(sidc=conversion.code, exact=conversion.exact, reason=conversion.reason)


def generic_type(identity: Identity, dimension: str = "G") -> str:
    """The generic atom type of an identity in a battle dimension (``a-h-G``)."""
    return atom_type(IDENTITY_AFFILIATION[identity], dimension, "")


def atom_type(affiliation: str, dimension: str, function: str) -> str:
    return "-".join(("a", affiliation, dimension, *function))

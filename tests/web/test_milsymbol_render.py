"""Every SIDC Tessera can emit draws in milsymbol, the web map's renderer: the crosswalk's
symbols in every identity, their fallbacks, the amplifiers letter codes carry, and the
simulator's units. Drawn by node, without a browser (tests/web/milsymbol_check.mjs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tessera.core.cot_types import atom_type, sidc_of_type
from tessera.core.model import Identity
from tessera.core.symbol_convert import ENTRIES, drawn_as_point, sidc_of_letter_code
from tessera.core.symbol_letters import (
    AFFILIATION_DIGITS,
    ECHELON_DIGITS,
    HEADQUARTERS_DIGIT,
    MOBILITY_DIGITS,
    STATUS_DIGIT,
    TOWED_ARRAY_DIGITS,
    compose_letter_code,
)
from tessera.core.symbols import IDENTITY_DIGIT, SYMBOL_SETS, generic_sidc, with_identity
from tessera.sim.forces import (
    BATTALION_HQ_SIDC,
    COLUMN_SIDC,
    FRIEND_UNITS,
    HOSTILE_SIDCS,
    UNKNOWN_SIDC,
)

ROOT = Path(__file__).resolve().parents[2]
MILSYMBOL = ROOT / "node_modules" / "milsymbol" / "index.js"
CHECK = Path(__file__).with_name("milsymbol_check.mjs")
AFFILIATIONS = sorted(AFFILIATION_DIGITS)


def draw(sidcs: list[str]) -> dict[str, tuple[bool, int]]:
    """milsymbol's isValid() and SVG length for each SIDC."""
    node = shutil.which("node")
    if node is None or not MILSYMBOL.exists():
        message = "node and node_modules/milsymbol are needed (npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # --no-opt: optimising milsymbol's big icon tables costs a one-shot run ten seconds.
    out = subprocess.run(
        [node, "--no-opt", str(CHECK), str(MILSYMBOL)],
        input=json.dumps(sidcs),
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(zip(sidcs, map(tuple, json.loads(out.stdout)), strict=True))


def crosswalk_sidcs() -> Iterator[str]:
    """Each line's symbol as a letter code converts to it, the identity running through
    every 2525C affiliation, and as the CoT type of a warfighting line converts."""
    for index, entry in enumerate(ENTRIES):
        affiliation = AFFILIATIONS[index % len(AFFILIATIONS)]
        category = "A" if entry.symbol[:2] != "46" else "O"
        first = category if entry.letters[0] == "W" else affiliation
        yield sidc_of_letter_code(compose_letter_code(entry.letters, first, "P", "--")).code
        if entry.letters[0] == "S":
            function = entry.letters[4:].rstrip("-")
            yield sidc_of_type(atom_type(affiliation.lower(), entry.letters[2], function)).sidc


def fallback_sidcs() -> Iterator[str]:
    """The generic symbols every fallback ends at, in every identity and context."""
    for symbol_set in SYMBOL_SETS:
        for identity in Identity:
            generic = generic_sidc(identity, symbol_set)
            yield generic
            yield generic[:2] + "1" + generic[3:]
    for cot_type in ("a-f", "a-h-X", "a-x-G", "a-u-G-Q", "a-n-S-X-Q", "a-j-A-Q", "a-k-G-U-H"):
        yield sidc_of_type(cot_type).sidc
    for code in ("SFXPUCI--------", "SFGPQQQQ-------", "WOS-XQ---------", "GHTP-----------"):
        yield sidc_of_letter_code(code).code


def amplifier_sidcs() -> Iterator[str]:
    """Every status, HQ/task force/dummy, echelon, mobility and towed array a letter
    code carries, on a land unit, equipment, installation, ship and control measure."""
    modifiers = [
        *(hq + echelon for hq in HEADQUARTERS_DIGIT for echelon in ("-", *ECHELON_DIGITS)),
        *("M" + letter for letter in MOBILITY_DIGITS),
        *("N" + letter for letter in TOWED_ARRAY_DIGITS),
    ]
    for status in STATUS_DIGIT:
        for modifier in modifiers:
            yield sidc_of_letter_code(f"SHGPUCI---{modifier}---".replace("GP", f"G{status}")).code
        for letters in ("SFGPEVAT--", "SNSPCLDD--"):
            yield sidc_of_letter_code(f"{letters[:3]}{status}{letters[4:]}MQ---").code
        yield sidc_of_letter_code(f"SUG{status}IB----HB---").code
    for status in "PA":
        for echelon in ECHELON_DIGITS:
            yield sidc_of_letter_code(f"GFG{status}GPP----{echelon}---").code


def simulator_sidcs() -> Iterator[str]:
    """The exercise's units, as every sensor may restate their identity."""
    friendly = (*(s for _, s in FRIEND_UNITS), BATTALION_HQ_SIDC)
    for sidc in (*friendly, *(s for _, s in HOSTILE_SIDCS), UNKNOWN_SIDC):
        for identity in IDENTITY_DIGIT:
            yield with_identity(sidc, identity)
    yield COLUMN_SIDC


def unique(sidcs: Iterable[str]) -> list[str]:
    return sorted(set(sidcs))


EMITTED = unique((*crosswalk_sidcs(), *fallback_sidcs(), *amplifier_sidcs(), *simulator_sidcs()))
POINTS = [sidc for sidc in EMITTED if drawn_as_point(sidc)]
# Line and area graphics and METOC, which the tables say milsymbol does not draw (so that
# no point's symbol is one of them).
UNDRAWN = unique(
    f"1003{entry.symbol[:2]}0000{entry.symbol[2:]}" for entry in ENTRIES if not entry.drawn
)
KNOWN, UNKNOWN = "10031000001211000000", "10031000001299000000"


@pytest.fixture(scope="module")
def drawn() -> dict[str, tuple[bool, int]]:
    """Every SIDC of this module drawn once, by one node."""
    return draw(unique((*POINTS, *UNDRAWN, KNOWN, UNKNOWN)))


def test_every_sidc_tessera_emits_draws_in_milsymbol(drawn: dict[str, tuple[bool, int]]) -> None:
    assert len(POINTS) > 2500
    failed = [sidc for sidc in POINTS if not drawn[sidc][0] or drawn[sidc][1] == 0]
    assert failed == []


def test_what_the_tables_say_milsymbol_does_not_draw_it_does_not(
    drawn: dict[str, tuple[bool, int]],
) -> None:
    # If milsymbol learns some, regenerate the tables: scripts/build_symbol_tables.py.
    assert len(UNDRAWN) > 500
    assert [sidc for sidc in UNDRAWN if drawn[sidc][0]] == []


def test_the_draw_check_tells_unknown_symbols(drawn: dict[str, tuple[bool, int]]) -> None:
    assert drawn[KNOWN][0] and not drawn[UNKNOWN][0]

"""CoT types <-> identities <-> 2525C letter codes <-> APP-6(D) SIDCs."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tessera.core.cot_types import (
    AFFILIATION_IDENTITY,
    atom_type,
    generic_type,
    identity_of_type,
    letter_code_of_type,
    sidc_of_symbol_code,
    sidc_of_type,
    type_of_letter_code,
    type_of_sidc,
)
from tessera.core.model import Identity
from tessera.core.symbol_convert import ENTRIES, sidc_of_letter_code
from tessera.core.symbol_entry import Entry
from tessera.core.symbols import SYMBOL_SETS, identity_of, sidc_problem

affiliations = st.sampled_from(sorted(AFFILIATION_IDENTITY))
# The warfighting crosswalk lines: each is a CoT atom type.
ATOM_ENTRIES = [entry for entry in ENTRIES if entry.letters[0] == "S" and entry.forward]


def test_every_warfighting_line_is_an_atom_type() -> None:
    assert len(ATOM_ENTRIES) > 700
    for entry in ATOM_ENTRIES:
        function = entry.letters[4:].rstrip("-")
        assert function.isalnum() or function == "", entry


@given(st.sampled_from(ATOM_ENTRIES), affiliations)
def test_table_entries_round_trip(entry: Entry, affiliation: str) -> None:
    cot_type = atom_type(affiliation, entry.letters[2], entry.letters[4:].rstrip("-"))
    match = sidc_of_type(cot_type)
    assert match.exact and match.reason is None
    assert sidc_problem(match.sidc) is None
    assert identity_of(match.sidc) is AFFILIATION_IDENTITY[affiliation]
    assert match.sidc[4:6] + match.sidc[10:] == entry.symbol
    assert match.sidc == sidc_of_letter_code(letter_code_of_type(cot_type)).code
    back = type_of_sidc(match.sidc)
    assert back.exact
    if entry.reverse:
        assert back.cot_type == cot_type
    else:  # another 2525C code is the crosswalk's way back: the SIDC round-trips
        assert sidc_of_type(back.cot_type).sidc == match.sidc
    if entry.letters[2] != "Z":
        assert type_of_letter_code(letter_code_of_type(cot_type)) == cot_type


def test_well_known_types() -> None:
    assert letter_code_of_type("a-h-G-U-C-I") == "SHGPUCI--------"
    assert type_of_letter_code("SHGPUCI--------") == "a-h-G-U-C-I"
    assert type_of_letter_code("SFAPMFQ---") == "a-f-A-M-F-Q"
    assert type_of_letter_code("SDGPUCI--------") == "a-f-G-U-C-I"  # exercise friend
    assert sidc_of_type("a-h-G-U-C-I").sidc == "10061000001211000000"  # infantry
    assert sidc_of_type("a-f-G-E-V-A-T").sidc == "10031500001202000000"  # tank
    assert sidc_of_type("a-f-A-M-F-Q").sidc == "10030100001103000000"  # UAV
    assert sidc_of_type("a-n-S-X-M").sidc == "10043000001401000000"  # merchant ship
    assert sidc_of_type("a-f-F").sidc == "10031000001218000000"  # SOF
    assert sidc_of_type("a-f-G-U-H").sidc == "10031002000000000000"  # headquarters amplifier
    assert sidc_of_type("a-j-G").sidc == "10151000000000000000"  # joker: exercise suspect
    assert type_of_sidc("10151000000000000000").cot_type == "a-j-G"
    assert type_of_sidc("10061000001211000000").cot_type == "a-h-G-U-C-I"


def test_identity_of_type() -> None:
    assert identity_of_type("a-h-G-U-C-I") is Identity.HOSTILE
    assert identity_of_type("a-a-A") is Identity.ASSUMED_FRIEND
    assert identity_of_type("a-k-G") is Identity.HOSTILE  # faker
    assert identity_of_type("a-o-G") is Identity.UNKNOWN  # "none specified"
    assert identity_of_type("b-t-f") is None and identity_of_type("a") is None


@pytest.mark.parametrize(
    ("cot_type", "sidc", "reason"),
    [
        ("a-h-G-U-C-I-X", "10061000001211000000", "counterpart for S*G*UCIX--: drawn as S*G*UCI"),
        ("a-f-G-E-Q", "10031500000000000000", "drawn as S*G*E-----"),
        ("a-f-G-Q", "10031000000000000000", "drawn as the generic ground symbol"),
        ("a-u-X", "10010000000000000000", "battle dimension 'X' has no APP-6(D) symbol set"),
        ("a-f", "10030000000000000000", "no battle dimension"),
        ("a-x-G", "10011000000000000000", "affiliation 'x' has no standard identity"),
        ("a-f-G-U-CI", "10031000000000000000", "only the function id 'U'"),
    ],
)
def test_types_without_a_counterpart_are_flagged(cot_type: str, sidc: str, reason: str) -> None:
    match = sidc_of_type(cot_type)
    assert (match.sidc, match.exact) == (sidc, False)
    assert match.reason is not None and reason in match.reason


@pytest.mark.parametrize(
    ("sidc", "cot_type", "reason"),
    [
        ("10061000001211000500", "a-h-G-U-C-I", "sector modifiers 05/00"),
        ("10061000001211990000", "a-h-G-U-C-I", "no CoT type for entity 121199"),
        ("10031000001101000000", "a-f-G", "no CoT type for entity 110100"),
        # Only an emergency management code says this infrastructure: the nearest atom.
        ("10032000001201000000", "a-f-G-I", "no CoT type for entity 120100"),
        ("10035200001101001100", "a-f-G", "symbol set 'signals intelligence land' has no CoT"),
        ("10062500001601000000", "a-h-G", "symbol set 'control measure' has no CoT atom"),
        ("10060200001200000000", "a-h-A-W-M", "symbol set 'air missile' has no CoT atom"),
        ("10130000000000000000", "a-f-Z", "no exercise or simulation identities"),
    ],
)
def test_sidcs_without_a_counterpart_are_flagged(sidc: str, cot_type: str, reason: str) -> None:
    match = type_of_sidc(sidc)
    assert (match.cot_type, match.exact) == (cot_type, False)
    assert match.reason is not None and reason in match.reason


def test_amplifiers_are_not_carried() -> None:
    # Status damaged, echelon battalion: the same type, exactly (amplifiers, not symbols).
    assert type_of_sidc("10031030161211000000") == type_of_sidc("10031000001211000000")
    assert type_of_sidc("10031002000000000000").cot_type == "a-f-G-U-H"


atomish_types = st.from_regex(r"\Aa-[a-z](-[A-Za-z]{1,2}){0,8}\Z")
valid_sidcs = st.builds(
    lambda version, context, identity, symbol_set, rest: (
        version + context + identity + symbol_set + rest
    ),
    st.sampled_from(["10", "11", "13"]),
    st.sampled_from("012"),
    st.sampled_from("0123456"),
    st.sampled_from(sorted(SYMBOL_SETS)),
    st.from_regex(r"\A[0-9]{14}\Z"),
)


@given(atomish_types)
@example("a-a-XZ")  # two letters that happen to stand side by side among the dimensions
def test_every_emitted_sidc_is_valid(cot_type: str) -> None:
    match = sidc_of_type(cot_type)
    assert sidc_problem(match.sidc) is None
    assert match.exact or match.reason


@given(valid_sidcs)
def test_every_sidc_has_a_type_that_draws_the_same_identity(sidc: str) -> None:
    match = type_of_sidc(sidc)
    assert match.exact or match.reason
    back = sidc_of_type(match.cot_type)
    assert sidc_problem(back.sidc) is None
    assert identity_of(back.sidc) is identity_of(sidc)


@pytest.mark.parametrize("cot_type", ["b-t-f", "u-d-r", "", "a", "a-ff-G"])
def test_non_atoms_have_no_symbol(cot_type: str) -> None:
    with pytest.raises(ValueError, match="not a CoT atom type"):
        sidc_of_type(cot_type)
    with pytest.raises(ValueError, match="not a CoT atom type"):
        letter_code_of_type(cot_type)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("GFGPGLL-------X", "only warfighting"),
        ("S*GPUCI---", "unknown 2525C affiliation"),
        ("SFQPUCI--------", "unknown 2525C battle dimension"),
        ("SFGPU-CI-------", "not letters and digits"),
        ("SFGP", "not a 2525B/C code"),
    ],
)
def test_letter_codes_that_are_no_atom_are_refused(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        type_of_letter_code(code)


def test_letter_codes_need_a_2525_affiliation_and_dimension() -> None:
    with pytest.raises(ValueError, match="affiliation 'x'"):
        letter_code_of_type("a-x-G")
    with pytest.raises(ValueError, match="battle dimension None"):
        letter_code_of_type("a-f")


def test_symbol_codes_as_tak_clients_send_them() -> None:
    twenty = "10031000001211000000"
    assert sidc_of_symbol_code(twenty) == sidc_of_type("a-f-G-U-C-I")
    thirty = sidc_of_symbol_code(twenty + "0000000000")
    assert thirty is not None and thirty.sidc == twenty and not thirty.exact
    letters = sidc_of_symbol_code("SHGPEVAT-------")
    assert letters is not None and letters.sidc == "10061500001202000000"
    # Every scheme, identities and amplifiers included.
    exercise = sidc_of_symbol_code("SDGPUCI----E---")
    assert exercise is not None and exercise.sidc == "10131000151211000000" and exercise.exact
    point = sidc_of_symbol_code("GHGPGPP--------")
    assert point is not None and point.sidc == "10062500001301000000"
    sigint = sidc_of_symbol_code("IHGPSCC--------")
    assert sigint is not None and sigint.sidc == "10065200001101001100"
    # A line, an area or weather is no symbol for a point.
    assert sidc_of_symbol_code("GFGPGLF--------") is None
    assert sidc_of_symbol_code("GFGPGAA--------") is None
    assert sidc_of_symbol_code("WAS-PHT---P----") is None
    assert sidc_of_symbol_code("nonsense") is None


def test_generic_type() -> None:
    assert generic_type(Identity.HOSTILE) == "a-h-G"
    assert generic_type(Identity.FRIEND, "A") == "a-f-A"

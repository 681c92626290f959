"""2525B/C letter codes <-> APP-6(D) SIDCs: the crosswalk tables, round trips both ways,
fallbacks that say so, and clean refusals of anything that is not a code."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.symbol_convert import (
    ENTRIES,
    Conversion,
    drawn_as_point,
    letter_code_of_sidc,
    sidc_of_letter_code,
)
from tessera.core.symbol_entry import Entry
from tessera.core.symbol_letters import (
    AFFILIATION_DIGITS,
    AMPLIFIER_LETTERS,
    DIMENSIONS,
    ECHELON_DIGITS,
    HEADQUARTERS_DIGIT,
    METOC_CATEGORY,
    MOBILITY_DIGITS,
    STATUS_DIGIT,
    TOWED_ARRAY_DIGITS,
    compose_letter_code,
    parse_letter_code,
)
from tessera.core.symbols import SYMBOL_SETS, sidc_problem

FORWARD = {entry.letters: entry for entry in ENTRIES if entry.forward}
LETTERS = re.compile(r"[SIOEGW]\*[A-Z-]\*[A-Z0-9-]{6}")


def test_the_tables_are_consistent() -> None:
    forward = Counter(entry.letters for entry in ENTRIES if entry.forward)
    assert [letters for letters, count in forward.items() if count > 1] == []
    assert {entry.letters for entry in ENTRIES} == set(forward)
    back = Counter(entry.symbol for entry in ENTRIES if entry.reverse)
    assert [symbol for symbol, count in back.items() if count > 1] == []
    # 2525C has no generic control measure: that one goes back with a reason.
    assert {entry.symbol for entry in ENTRIES} - set(back) == {"250000000000"}
    for entry in ENTRIES:
        assert LETTERS.fullmatch(entry.letters), entry
        assert re.fullmatch(r"\d{12}", entry.symbol) and entry.symbol[:2] in SYMBOL_SETS, entry


def test_every_symbol_set_with_a_counterpart_is_covered() -> None:
    per_set = Counter(entry.symbol[:2] for entry in ENTRIES if entry.symbol[2:].strip("0"))
    for symbol_set, at_least in {
        "01": 80,  # air
        "02": 10,  # air missile
        "05": 3,  # space
        "10": 350,  # land unit
        "11": 15,  # land civilian
        "15": 150,  # land equipment
        "20": 100,  # land installation
        "25": 400,  # control measures
        "30": 60,  # sea surface
        "35": 30,  # subsurface
        "36": 35,  # mine warfare
        "40": 100,  # activities
        "45": 150,  # atmospheric
        "46": 150,  # oceanographic
        **dict.fromkeys(("50", "51", "52", "53", "54"), 8),  # SIGINT
    }.items():
        assert per_set[symbol_set] >= at_least, symbol_set


def test_every_dimension_has_a_generic_symbol() -> None:
    for scheme, dimensions in DIMENSIONS.items():
        for dimension in dimensions:
            if scheme == "W" or (scheme, dimension) == ("S", "X"):
                continue  # METOC by category; "other" has no APP-6(D) symbol set
            assert f"{scheme}*{dimension}*------" in FORWARD


# --- round trips ------------------------------------------------------------------------


@st.composite
def sidcs_of(draw: st.DrawFn, entry: Entry) -> str:
    """A SIDC of the entry's symbol with an identity, status and amplifiers that its
    letter code can say."""
    scheme, symbol_set = entry.letters[0], entry.symbol[:2]
    if scheme == "W":
        return f"1000{symbol_set}0000{entry.symbol[2:]}"
    identity = draw(st.sampled_from(sorted(AFFILIATION_DIGITS.values())))
    statuses = "01" if scheme == "G" else "".join(STATUS_DIGIT.values())
    status = draw(st.sampled_from(statuses))
    echelons = ["00", *ECHELON_DIGITS.values()]
    if scheme == "I":
        amplifiers = "000"
    elif scheme == "G":
        amplifiers = "0" + draw(st.sampled_from(echelons))
    elif scheme == "S" and symbol_set == "20":
        amplifiers = draw(st.sampled_from("01")) + "00"
    else:
        movers = [*MOBILITY_DIGITS.values(), *TOWED_ARRAY_DIGITS.values()]
        amplifiers = draw(
            st.one_of(
                st.tuples(
                    st.sampled_from(sorted(HEADQUARTERS_DIGIT.values())), st.sampled_from(echelons)
                ).map("".join),
                st.sampled_from(movers).map("0".__add__),
            )
        )
    return f"10{identity}{symbol_set}{status}{amplifiers}{entry.symbol[2:]}"


def forward_sidc(sidc: str, letters: str) -> str:
    """The SIDC with the symbol its letter code converts to."""
    symbol = FORWARD[letters].symbol
    return sidc[:4] + symbol[:2] + sidc[6:10] + symbol[2:]


REVERSIBLE = [entry for entry in ENTRIES if entry.reverse]
with_sidcs = st.sampled_from(ENTRIES).flatmap(lambda e: st.tuples(st.just(e), sidcs_of(e)))


def plain_sidc(entry: Entry, index: int) -> str:
    """The entry's symbol, friend and present (METOC: no identity), or, by ``index``,
    another identity."""
    if entry.letters[0] == "W":
        return f"1000{entry.symbol[:2]}0000{entry.symbol[2:]}"
    identity = sorted(AFFILIATION_DIGITS.values())[index % len(AFFILIATION_DIGITS)]
    return f"10{identity}{entry.symbol[:2]}0000{entry.symbol[2:]}"


def letter_code_for(entry: Entry, sidc: str) -> str:
    """The entry's letter code with what ``sidc`` says beside the symbol."""
    scheme, symbol_set = entry.letters[0], entry.symbol[:2]
    if scheme == "W":
        return compose_letter_code(entry.letters, METOC_CATEGORY[symbol_set], "-", "--")
    affiliation = {digits: letter for letter, digits in AFFILIATION_DIGITS.items()}[sidc[2:4]]
    status = {digit: letter for letter, digit in STATUS_DIGIT.items()}[sidc[6]]
    headquarters = {digit: letter for letter, digit in HEADQUARTERS_DIGIT.items()}[sidc[7]]
    amplifier = sidc[8:10]
    if scheme == "I":
        modifier = "--"
    elif scheme == "S" and symbol_set == "20":
        modifier = "HB" if sidc[7] == "1" else "H-"
    elif amplifier == "00":
        modifier = headquarters + "-"
    elif amplifier in ECHELON_DIGITS.values():
        modifier = headquarters + AMPLIFIER_LETTERS[amplifier][1]
    else:
        modifier = "".join(AMPLIFIER_LETTERS[amplifier])
    return compose_letter_code(entry.letters, affiliation, status, modifier)


def assert_sidc_round_trips(entry: Entry, sidc: str) -> None:
    """SIDC -> letter code -> SIDC: exact both ways, and the same SIDC where the
    crosswalk lists the letter code once (else the letter code's own counterpart)."""
    letters = letter_code_of_sidc(sidc)
    assert (letters.exact, letters.reason) == (True, None), sidc
    assert parse_letter_code(letters.code).letters[4:] == entry.letters[4:], sidc
    back = sidc_of_letter_code(letters.code)
    assert (back.exact, back.reason) == (True, None), letters.code
    assert back.code == forward_sidc(sidc, entry.letters), sidc
    assert letter_code_of_sidc(back.code) == letters


def assert_letter_code_round_trips(entry: Entry, sidc: str) -> None:
    """Letter code -> SIDC -> letter code: exact both ways, and the same letter code
    where it is the crosswalk's way back (else one with the same counterpart)."""
    code = letter_code_for(entry, sidc)
    converted = sidc_of_letter_code(code)
    assert (converted.exact, converted.reason) == (True, None), code
    assert converted.code == forward_sidc(sidc, entry.letters), code
    back = letter_code_of_sidc(converted.code)
    if FORWARD[entry.letters].reverse:
        assert (back.code, back.exact) == (code, True)
    elif back.exact:  # several letter codes share this symbol; another is the way back
        assert sidc_of_letter_code(back.code).code == converted.code
    else:  # ... and that one's scheme cannot say all of it
        assert back.reason is not None and "dropped" in back.reason


def test_every_table_entry_round_trips_both_ways() -> None:
    for index, entry in enumerate(ENTRIES):
        if entry.reverse:
            assert_sidc_round_trips(entry, plain_sidc(entry, index))
        if entry.symbol != "250000000000":
            assert_letter_code_round_trips(entry, plain_sidc(entry, index))


@given(st.sampled_from(REVERSIBLE).flatmap(lambda e: st.tuples(st.just(e), sidcs_of(e))))
def test_sidcs_round_trip_with_any_identity_status_and_amplifier(case: tuple[Entry, str]) -> None:
    assert_sidc_round_trips(*case)


@given(with_sidcs.filter(lambda case: case[0].symbol != "250000000000"))
def test_letter_codes_round_trip_with_any_identity_status_and_modifier(
    case: tuple[Entry, str],
) -> None:
    assert_letter_code_round_trips(*case)


def test_well_known_codes() -> None:
    for letters, sidc in [
        ("SHGPUCI--------", "10061000001211000000"),  # infantry
        ("SFGPUCIC---E---", "10031000151211000002"),  # infantry company, wheeled (mod 2)
        ("SDGAUCI---AF---", "10131012161211000000"),  # exercise, planned HQ battalion
        ("SFGPUCI---MQ---", "10031000331211000000"),  # tracked
        ("SFGPIB----HB---", "10032001001208020000"),  # dummy military base
        ("SNSPXMC--------", "10043000001401010000"),  # cargo ship
        ("IHGPSCC--------", "10065200001101001100"),  # SIGINT land communications
        ("GHMPNZ---------", "10062500002815000000"),  # nuclear ground zero
        ("WAS-PHT--------", "10004500001102020000"),  # METOC: no identity
        ("OHVPA----------", "10064000001101020000"),  # stability ops: arson
        ("ENIPBA---------", "10044000001102010000"),  # emergency: incident
    ]:
        assert sidc_of_letter_code(letters) == Conversion(code=sidc, exact=True), letters
        assert letter_code_of_sidc(sidc) == Conversion(code=letters, exact=True), sidc
    # METOC's graphic type (point, line, area) is the symbol's to say in 2525D.
    assert sidc_of_letter_code("WAS-PHT---P----").code == "10004500001102020000"


# --- fallbacks say so -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("letters", "sidc", "reason"),
    [
        ("SFGPUCIX-------", "10031000001211000000", "S*G*UCIX--: drawn as S*G*UCI---"),
        ("SFGPEQ---------", "10031500000000000000", "S*G*EQ----: drawn as S*G*E-----"),
        ("SFGPQ----------", "10031000000000000000", "drawn as the generic ground symbol"),
        ("SFXPUCI--------", "10030000000000000000", "battle dimension 'X' has no APP-6(D)"),
        ("WOS-XQ---------", "10004600000000000000", "generic oceanographic symbol"),
        ("SFGPUCI-----US-", "10031000001211000000", "country 'US' is not part of"),
        ("SFGPUCI-------G", "10031000001211000000", "order of battle 'G'"),
        ("S-GPUCI--------", "10011000001211000000", "no affiliation: unknown"),
        ("SFG-UCI--------", "10031000001211000000", "no status: present"),
        ("SFGPUCI---ZZ---", "10031000001211000000", "symbol modifier 'ZZ' unknown"),
        ("SFGPUCI---MZ---", "10031000001211000000", "symbol modifier 'MZ' unknown"),
        ("IFGPSCC---A----", "10035200001101001100", "not one of this scheme"),
        ("SFGPUCI---H----", "10031000001211000000", "installation modifier on a symbol"),
    ],
)
def test_letter_codes_without_a_counterpart_say_so(letters: str, sidc: str, reason: str) -> None:
    conversion = sidc_of_letter_code(letters)
    assert (conversion.code, conversion.exact) == (sidc, False)
    assert conversion.reason is not None and reason in conversion.reason


@pytest.mark.parametrize(
    ("sidc", "letters", "reason"),
    [
        ("10031000001211990000", "SFGPUCI--------", "entity 121199 of symbol set 'land unit'"),
        ("10031000001211000099", "SFGPUCI--------", "sector modifier 2 '99'"),
        ("10031000001101000000", "SFGP-----------", "drawn as S*G*------"),
        ("10032700001101000000", "SFGPU----------", "'dismounted individual' has no 2525C"),
        ("10036000001100000000", "SFZP-----------", "'cyberspace' has no 2525C"),
        ("10030600001100000000", "SFPP-----------", "'space missile' has no 2525C"),
        ("10032500009999000000", "GFGP-----------", "'control measure' has no 2525C"),
        ("10234700001100000000", "WS-------------", "'meteorological space' has no 2525C"),
        ("10231000001211000000", "SFGPUCI--------", "no simulation affiliations"),
        ("10031000901211000000", "SFGPUCI--------", "amplifier '90' unknown"),
        ("10031009001211000000", "SFGPUCI--------", "HQ/task force/dummy digit '9'"),
        ("10031002311211000000", "SFGPUCI---MO---", "beside mobility"),
        ("10032502001301000000", "GFGPGPP--------", "no HQ, task force or dummy letter"),
        ("10032530001301000000", "GFGPGPP--------", "no status 'D'"),
        ("10032500311301000000", "GFGPGPP--------", "'31' is no echelon"),
        ("10035202151101001100", "IFGPSCC--------", "SIGINT letter codes have no HQ"),
        ("10032002001208020000", "SFGPIB----H----", "an installation has no HQ"),
        ("10034500151102020000", "WAS-PHT--------", "METOC letter codes have no amplifiers"),
    ],
)
def test_sidcs_without_a_counterpart_say_so(sidc: str, letters: str, reason: str) -> None:
    conversion = letter_code_of_sidc(sidc)
    assert (conversion.code, conversion.exact) == (letters, False)
    assert conversion.reason is not None and reason in conversion.reason


valid_sidcs = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["10", "11", "13"]),
        st.sampled_from("012"),
        st.sampled_from("0123456"),
        st.sampled_from(sorted(SYMBOL_SETS)),
        st.from_regex(r"\A[0-9]{14}\Z"),
    ),
)


@given(valid_sidcs)
def test_every_sidc_has_a_letter_code_or_says_why(sidc: str) -> None:
    conversion = letter_code_of_sidc(sidc)
    assert conversion.exact or conversion.reason
    assert len(conversion.code) == 15
    back = sidc_of_letter_code(conversion.code)
    assert sidc_problem(back.code) is None
    if sidc[4:6] not in ("45", "46", "47"):  # METOC has no identity
        assert back.code[2:4] == (sidc[2:4] if sidc[2] != "2" else "0" + sidc[3])


@given(st.from_regex(r"\A[SIOEGW][A-Z\-*][A-Z\-*][A-Z\-*][A-Z0-9\-]{6}[A-Z0-9\-*]{0,5}\Z"))
def test_every_letter_code_has_a_sidc_or_a_clean_refusal(code: str) -> None:
    try:
        conversion = sidc_of_letter_code(code)
    except ValueError as error:
        refusal = str(error)
    else:
        assert sidc_problem(conversion.code) is None
        assert conversion.exact or conversion.reason
        return
    assert "2525C" in refusal or "2525B/C" in refusal


# --- garbage ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "not a 2525B/C letter code"),
        ("SFGP", "not a 2525B/C letter code"),
        ("SFGPUCI---------", "not a 2525B/C letter code"),  # 16 characters
        ("SFGPUCIÄ-------", "not a 2525B/C letter code"),
        ("SFGPU.CI-------", "letters, digits and '-'"),
        ("XFGPUCI--------", "unknown 2525C coding scheme"),
        ("SQGPUCI--------", "unknown 2525C affiliation"),
        ("SFQPUCI--------", "unknown 2525C battle dimension"),
        ("SFGQUCI--------", "unknown 2525C status"),
        ("WQS-PHT--------", "unknown 2525C METOC category"),
        ("WAQ-PHT--------", "unknown 2525C METOC static/dynamic"),
    ],
)
def test_garbage_letter_codes_are_refused(code: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sidc_of_letter_code(code)


@pytest.mark.parametrize(
    "sidc", ["", "1003100000121100000", "1003100000121100000x", "99031000001211000000"]
)
def test_garbage_sidcs_are_refused(sidc: str) -> None:
    with pytest.raises(ValueError, match="not an APP-6\\(D\\) SIDC"):
        letter_code_of_sidc(sidc)


def test_what_the_map_draws_as_a_point() -> None:
    assert drawn_as_point("10031000001211000000")  # infantry
    assert drawn_as_point("10032500001301000000")  # action point
    assert not drawn_as_point("10032500001401010000")  # forward line of troops
    assert not drawn_as_point("10004500001102020000")  # high pressure centre
    assert drawn_as_point("10004500000000000000")  # the empty METOC frame
    assert all(
        drawn_as_point(f"1003{entry.symbol[:2]}0000{entry.symbol[2:]}") == entry.drawn
        for entry in ENTRIES
        if entry.symbol[:2] not in ("45", "46")
    )


def test_amplifier_letters_are_one_to_one() -> None:
    assert len(AMPLIFIER_LETTERS) == len(ECHELON_DIGITS) + len(MOBILITY_DIGITS) + 2

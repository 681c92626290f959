"""SIDCs and labels: the small tables and rules everything else leans on."""

from __future__ import annotations

import pytest

from tessera.core.labels import AdmissionRule, ClassificationScheme, Picture, admits
from tessera.core.model import Identity, Label
from tessera.core.symbols import generic_sidc, identity_of, sidc_problem, with_identity


@pytest.mark.parametrize(
    "sidc", ["10031000001211000000", "10061500001201000000", "13011000000000000000"]
)
def test_valid_sidcs_pass(sidc: str) -> None:
    assert sidc_problem(sidc) is None


@pytest.mark.parametrize(
    ("sidc", "needle"),
    [
        ("1003100000121100000", "20 decimal digits"),
        ("1003100000121100000x", "20 decimal digits"),
        ("99031000001211000000", "version"),
        ("10931000001211000000", "context"),
        ("10081000001211000000", "standard identity"),
        ("10039900001211000000", "symbol set"),
    ],
)
def test_bad_sidcs_say_what_is_wrong(sidc: str, needle: str) -> None:
    problem = sidc_problem(sidc)
    assert problem is not None and needle in problem


@pytest.mark.parametrize("identity", list(Identity))
def test_identity_digit_round_trips(identity: Identity) -> None:
    sidc = with_identity("10031000001211000000", identity)
    assert identity_of(sidc) is identity
    assert sidc_problem(sidc) is None
    assert identity_of(generic_sidc(identity)) is identity


def test_classification_scheme_orders_levels_and_rejects_unknown_ones() -> None:
    scheme = ClassificationScheme()
    assert scheme.rank("UNCLASSIFIED") < scheme.rank("SECRET")
    assert scheme.highest(["RESTRICTED", "SECRET", "CONFIDENTIAL"]) == "SECRET"
    with pytest.raises(ValueError, match="unknown classification"):
        scheme.rank("COSMIC")
    with pytest.raises(ValueError, match="distinct"):
        ClassificationScheme(["A", "A"])


def test_admission_by_level_and_releasability() -> None:
    scheme = ClassificationScheme()
    partner = Picture(
        "REL-UKR", AdmissionRule(max_classification="RESTRICTED", releasable_to="UKR")
    )
    assert admits(partner, Label("RESTRICTED", ("NATO", "UKR")), scheme)
    assert not admits(partner, Label("SECRET", ("NATO", "UKR")), scheme)
    assert not admits(partner, Label("UNCLASSIFIED", ("NATO",)), scheme)
    assert admits(Picture("COP"), Label("SECRET", ()), scheme)

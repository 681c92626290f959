"""Security markings as files write them, mapped to Tessera's levels and releasability
(codecs.markings), and the decision an import takes from them (codecs.import_labels):
every written form the standards use, configured levels, refusals that name the marking,
and garbage that only ever gives a clean MarkingError."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.codecs.import_labels import (
    Found,
    ImportLabels,
    Labelled,
    LabelRequiredError,
    MarkingRefusedError,
)
from tessera.codecs.markings import (
    MAX_MARKING,
    Marking,
    MarkingError,
    compose,
    read_marking,
    stricter,
)
from tessera.core.labels import ClassificationScheme
from tessera.core.model import COMMUNITY_PATTERN, Label

SCHEME = ClassificationScheme()
LEVELS = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET")
NATO = frozenset({"NATO"})


def read(text: str, scheme: ClassificationScheme = SCHEME) -> Marking | None:
    return read_marking(text, scheme, where="<nvg> at line 2")


@pytest.mark.parametrize(
    ("text", "level", "releasable_to"),
    [
        ("SECRET", "SECRET", None),
        ("secret", "SECRET", None),
        ("  Secret  ", "SECRET", None),
        ("Unclassified", "UNCLASSIFIED", None),  # ATAK's access
        ("NOT CLASSIFIED", "UNCLASSIFIED", None),  # NVG 2.0.2 files from nvg-parser
        ("UNCLAS", "UNCLASSIFIED", None),
        ("NATO UNCLASSIFIED", "UNCLASSIFIED", NATO),
        ("NATO RESTRICTED", "RESTRICTED", NATO),
        ("NATO CONFIDENTIAL", "CONFIDENTIAL", NATO),
        ("NATO SECRET", "SECRET", NATO),
        ("(S)", "SECRET", None),  # portion marks
        ("(NS)", "SECRET", NATO),
        ("(NR)", "RESTRICTED", NATO),
        ("SECRET//REL TO NATO", "SECRET", NATO),
        ("SECRET//REL TO NATO, UKR", "SECRET", frozenset({"NATO", "UKR"})),
        ("SECRET // RELEASABLE TO NATO,UKR,POL", "SECRET", frozenset({"NATO", "UKR", "POL"})),
        ("secret rel to nato ukr", "SECRET", frozenset({"NATO", "UKR"})),
        ("(C//REL TO UKR)", "CONFIDENTIAL", frozenset({"UKR"})),
        ("NATO SECRET//REL TO UKR", "SECRET", frozenset({"NATO", "UKR"})),
        ("SECRET//REL TO NATO, UKR//REL TO UKR, POL", "SECRET", frozenset({"UKR"})),
        ("REL TO NATO", None, NATO),  # releasability alone
    ],
)
def test_every_written_form_maps_to_a_level_and_releasability(
    text: str, level: str | None, releasable_to: frozenset[str] | None
) -> None:
    marking = read(text)
    assert marking is not None
    assert (marking.level, marking.releasable_to) == (level, releasable_to)
    assert marking.where == "<nvg> at line 2"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_text_is_no_marking(text: str) -> None:
    assert read(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("TOP SECRET", "TOP SECRET is not one of this server's levels"),
        ("COSMIC TOP SECRET//REL TO NATO", "TOP SECRET is not one of this server's levels"),
        ("VERY SECRET", "'VERY SECRET' is not a classification Tessera knows"),
        ("nato", "'NATO' is not a classification Tessera knows"),  # CoT's "who has access"
        ("SECRET//NOFORN", "caveat 'NOFORN' is not one Tessera can enforce"),
        ("UNCLASSIFIED//FOUO", "caveat 'FOUO' is not one Tessera can enforce"),
        ("SECRET//REL TO", "REL TO names no community"),
        ("SECRET//REL TO NATO; UKR", "'NATO;' is not a community name"),
    ],
)
def test_a_marking_tessera_cannot_map_is_an_error_naming_it(text: str, reason: str) -> None:
    with pytest.raises(MarkingError) as raised:
        read(text)
    message = str(raised.value)
    assert message.startswith(f"<nvg> at line 2: marking {' '.join(text.split())!r}")
    assert reason in message


def test_a_deployments_own_levels_are_read_as_written() -> None:
    uk = ClassificationScheme(("OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET", "TOP SECRET"))
    assert (read("official-sensitive", uk) or Marking("", "", None)).level == "OFFICIAL-SENSITIVE"
    assert (read("TOP SECRET//REL TO NATO", uk) or Marking("", "", None)).level == "TOP SECRET"
    assert (read("COSMIC TOP SECRET", uk) or Marking("", "", None)).releasable_to == NATO
    with pytest.raises(MarkingError, match="UNCLASSIFIED is not one of this server's levels"):
        read("UNCLASSIFIED", uk)


def test_a_banner_is_a_marking_only_when_it_starts_with_a_classification() -> None:
    def banner(text: str) -> Marking | None:
        return read_marking(text, SCHEME, where="<name> at line 3", banner=True)

    assert banner("Route Gold") is None
    assert banner("Exercise//routes") is None
    assert banner("SECRET - exercise overlays") is None  # no // after the level: a title
    assert (banner("SECRET") or Marking("", "", None)).level == "SECRET"
    found = banner("SECRET//REL TO NATO, UKR")
    assert found is not None and found.releasable_to == frozenset({"NATO", "UKR"})
    with pytest.raises(MarkingError, match="caveat 'EXERCISE ONLY'"):
        banner("NATO SECRET//EXERCISE ONLY")


def test_compose_writes_a_formats_separate_fields_as_one_marking() -> None:
    assert compose("SECRET", policy="NATO", releasable_to="UKR") == "NATO SECRET//REL TO UKR"
    assert compose("NATO SECRET", policy="NATO") == "NATO SECRET"
    assert compose("SECRET", policy="GBR") == "SECRET"  # only a policy Tessera knows
    assert compose(None, releasable_to="NATO UKR") == "REL TO NATO UKR"
    assert compose("Secret", caveats=["FOUO"]) == "Secret//FOUO"
    assert compose(None) == ""
    with pytest.raises(MarkingError, match="REL TO names no community"):
        read(compose("SECRET", releasable_to=""))  # a list that names nobody is not no list


def test_stricter_takes_the_higher_level_and_the_communities_both_release_to() -> None:
    outer = read("RESTRICTED//REL TO NATO, UKR")
    inner = read("SECRET//REL TO NATO, POL")
    both = stricter(outer, inner, SCHEME)
    assert both is not None and (both.level, both.releasable_to) == ("SECRET", NATO)
    assert stricter(None, inner, SCHEME) is inner and stricter(outer, None, SCHEME) is outer
    only_release = stricter(read("CONFIDENTIAL"), read("REL TO UKR"), SCHEME)
    assert only_release is not None
    assert (only_release.level, only_release.releasable_to) == ("CONFIDENTIAL", frozenset({"UKR"}))


# -- the decision --------------------------------------------------------------------------


def found(text: str, line: int = 1) -> list[Found]:
    return [Found(text, f"<point> at line {line}")]


def test_a_label_given_labels_everything_and_refuses_a_marking_above_it() -> None:
    given = Label("SECRET", ("NATO",))
    labels = ImportLabels(given=given, default=Label("UNCLASSIFIED")).file(found("RESTRICTED"))
    inner = labels.within(labels.document, found("NATO SECRET", 7))
    assert labels.item(inner, "<point> at line 7") == given
    assert labels.finish().source == "given"
    low = ImportLabels(given=Label("CONFIDENTIAL")).file(())
    with pytest.raises(MarkingRefusedError) as raised:
        low.within(None, found("SECRET//REL TO NATO", 12))
    assert str(raised.value).startswith(
        "<point> at line 12: marked 'SECRET//REL TO NATO', above the label given (CONFIDENTIAL)"
    )


def test_a_label_given_may_not_release_beyond_the_files_rel_to() -> None:
    labels = ImportLabels(given=Label("SECRET", ("NATO", "UKR"))).file(())
    with pytest.raises(MarkingRefusedError) as raised:
        labels.within(None, found("SECRET//REL TO NATO", 4))
    assert "releasable only to NATO; the label given would release it to UKR" in str(raised.value)
    # Releasable to no more than the marking: fine, and so is releasable to nobody.
    for label in (Label("SECRET", ("NATO",)), Label("SECRET")):
        ImportLabels(given=label).file(found("NATO SECRET//REL TO UKR"))


def test_without_a_label_the_files_marking_comes_before_the_default() -> None:
    labels = ImportLabels(default=Label("UNCLASSIFIED", ("NATO",))).file(found("SECRET"))
    assert labels.item(labels.document, "<point> at line 3") == Label("SECRET")
    assert labels.finish().label == Label("SECRET")
    assert labels.finish().source == "marking"
    unmarked = ImportLabels(default=Label("RESTRICTED", ("NATO",))).file(())
    assert unmarked.item(None, "<point> at line 3") == Label("RESTRICTED", ("NATO",))
    assert unmarked.finish().source == "default"


def test_an_elements_stricter_marking_labels_its_item_never_a_looser_one() -> None:
    default = Label("UNCLASSIFIED")
    labels = ImportLabels(default=default).file(found("RESTRICTED//REL TO NATO, UKR"))
    inner = labels.within(labels.document, found("CONFIDENTIAL//REL TO NATO", 9))
    assert labels.item(inner, "<point> at line 9") == Label("CONFIDENTIAL", ("NATO",))
    lower = labels.within(labels.document, found("UNCLASSIFIED//REL TO NATO, UKR, POL", 10))
    shared = Label("RESTRICTED", ("NATO", "UKR"))
    assert labels.item(lower, "<point> at line 10") == shared  # the file's is the floor
    summary = labels.finish()
    assert (summary.label, summary.source, summary.own_marking) == (shared, "marking", 1)


def test_without_a_document_marking_each_elements_marking_comes_before_the_default() -> None:
    default = Label("RESTRICTED", ("NATO", "UKR"))
    events = ImportLabels(default=default).file(())  # CoT: one event after another
    assert events.item(events.within(None, found("Unclassified")), "event 1") == Label(
        "UNCLASSIFIED"
    )
    assert events.item(events.within(None, found("REL TO NATO")), "event 2") == Label(
        "RESTRICTED", ("NATO",)
    )
    assert events.item(None, "event 3") == default
    assert events.finish() == Labelled(default, "default", 2)
    alone = ImportLabels().file(())
    assert alone.item(alone.within(None, found("Secret")), "event 1") == Label("SECRET")
    assert alone.finish().label is None


def test_with_no_label_no_marking_and_no_default_a_label_is_required() -> None:
    labels = ImportLabels().file(())
    with pytest.raises(LabelRequiredError, match="<point> at line 5 has no security marking"):
        labels.item(None, "<point> at line 5")
    with pytest.raises(LabelRequiredError):
        ImportLabels().file(()).finish()  # nothing in the file decides a label
    only_release = ImportLabels().file(())
    with pytest.raises(LabelRequiredError, match="event 2 has only 'REL TO NATO'"):
        only_release.item(only_release.within(None, found("REL TO NATO")), "event 2")


def test_a_plain_label_reads_no_markings() -> None:
    from tessera.codecs.import_labels import rule_of

    labels = rule_of(Label("UNCLASSIFIED")).file(found("SECRET"))
    assert labels.item(labels.document, "x") == Label("UNCLASSIFIED")


# -- properties ----------------------------------------------------------------------------

WORDS = st.sampled_from(
    ["SECRET", "NATO", "REL TO", "//", "(", ")", ",", " ", "TOP", "UNCLASSIFIED", "UKR", "S"]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(WORDS, max_size=12).map("".join)))
def test_garbage_gives_a_marking_or_a_clean_error_never_a_crash(text: str) -> None:
    problem = None
    try:
        marking = read(text)
    except MarkingError as exc:
        marking, problem = None, str(exc)
    assert problem is None or problem.startswith("<nvg> at line 2: marking ")
    if marking is not None:
        assert marking.level is None or marking.level in LEVELS
        assert all(re.match(COMMUNITY_PATTERN, c) for c in marking.releasable_to or ())


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(LEVELS),
    st.lists(st.from_regex(r"[A-Z][A-Z0-9]{1,5}", fullmatch=True), min_size=1, max_size=5),
    st.booleans(),
)
def test_a_level_and_its_rel_to_list_read_back_as_written(
    level: str, communities: list[str], nato: bool
) -> None:
    text = compose(level, policy="NATO" if nato else None, releasable_to=", ".join(communities))
    marking = read(text)
    assert marking is not None and marking.level == level
    assert marking.releasable_to == frozenset(communities) | ({"NATO"} if nato else set())


def test_an_overlong_marking_is_refused_not_read() -> None:
    with pytest.raises(MarkingError, match=f"longer than {MAX_MARKING}"):
        read("SECRET//REL TO " + "NATO, " * 200)

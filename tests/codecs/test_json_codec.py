"""The canonical report codec: valid reports round-trip; anything else is a clean error."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.codecs.errors import BatchTooLargeError, DecodeError
from tessera.codecs.json import ReportCodec, ReportPolicy, decode_stored_report, encode_report
from tessera.core.labels import DEFAULT_LEVELS
from tessera.core.model import (
    MAX_HOLD,
    Grading,
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Velocity,
)
from tessera.core.symbols import IDENTITY_DIGIT, SYMBOL_SETS
from tessera.core.text import without_control_characters

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
POLICY = ReportPolicy(levels=DEFAULT_LEVELS, default_label=Label("UNCLASSIFIED", ()), max_items=50)


def codec() -> ReportCodec:
    return ReportCodec(POLICY)


def counter_ids() -> Any:
    counter = itertools.count()
    return lambda: f"assigned-{next(counter)}"


# -- strategies for valid reports ---------------------------------------------------------

identifiers = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:@-]{0,40}\Z")
communities = st.lists(st.from_regex(r"\A[A-Z0-9][A-Z0-9_-]{0,8}\Z"), max_size=5, unique=True).map(
    lambda items: tuple(sorted(items))
)
labels = st.builds(Label, st.sampled_from(DEFAULT_LEVELS), communities)


def finite(
    low: float | None = None, high: float | None = None, *, exclude_max: bool = False
) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, exclude_max=exclude_max)


positions = st.builds(
    Position,
    finite(-90, 90),
    finite(-180, 180),
    st.none() | finite(-12_000, 1_000_000),
    finite(0.001, 1_000_000),
)
velocities = st.builds(
    Velocity,
    finite(0, 360, exclude_max=True),
    finite(0, 10_000),
)
gradings = st.builds(Grading, st.sampled_from("ABCDEF"), st.integers(1, 6))
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2026, 5, 4, 12, 0), timezones=st.just(UTC)
)


@st.composite
def sidc_and_identity(draw: st.DrawFn) -> tuple[str | None, Identity]:
    identity = draw(st.sampled_from(list(Identity)))
    if draw(st.booleans()):
        return None, identity
    symbol_set = draw(st.sampled_from(sorted(SYMBOL_SETS)))
    rest = draw(st.from_regex(r"\A[0-9]{14}\Z"))
    return "10" + draw(st.sampled_from("012")) + IDENTITY_DIGIT[identity] + symbol_set + rest, (
        identity
    )


@st.composite
def reports(draw: st.DrawFn) -> Report:
    sidc, identity = draw(sidc_and_identity())
    subject = draw(st.none() | identifiers)
    observed = draw(times)
    holds = st.timedeltas(timedelta(microseconds=1), MAX_HOLD).map(lambda span: observed + span)
    return Report(
        id=draw(identifiers),
        source=Source(draw(identifiers), draw(st.sampled_from(list(SourceKind)))),
        observed_at=observed,
        received_at=draw(st.none() | times),
        valid_until=draw(st.none() | holds),
        position=draw(positions),
        velocity=draw(st.none() | velocities),
        subject=subject,
        identity=identity,
        sidc=sidc,
        quantity=draw(st.none() | st.integers(0, 1_000_000)),
        grading=draw(gradings),
        label=draw(labels),
        remarks=draw(st.text(max_size=200).map(without_control_characters)),
        retraction=subject is not None and draw(st.booleans()),
        parent=draw(st.none() | identifiers),
    )


# -- round trips --------------------------------------------------------------------------


@given(st.lists(reports(), min_size=1, max_size=5))
@settings(max_examples=150, deadline=None)
def test_every_valid_report_round_trips(batch: list[Report]) -> None:
    data = b"[" + b",".join(encode_report(report) for report in batch) + b"]"
    decoded = codec().decode_batch(data, now=NOW, new_id=counter_ids())
    assert decoded == batch
    for report in batch:
        assert codec().decode_line(encode_report(report), index=0, now=None, new_id=str) == report
        assert decode_stored_report(encode_report(report)) == report


# -- garbage in ---------------------------------------------------------------------------


def assert_clean_error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as raised:
        codec().decode_batch(data, now=NOW, new_id=counter_ids())
    errors = raised.value.errors
    assert errors
    for error in errors:
        assert error.field
        assert error.reason
    return raised.value


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_random_bytes_give_a_clean_error(data: bytes) -> None:
    # A random byte string that happens to be a valid batch is vanishingly rare; either
    # way no other exception may escape.
    errors = None
    try:
        codec().decode_batch(data, now=NOW, new_id=counter_ids())
    except DecodeError as exc:
        errors = exc.errors
    assert errors is None or errors


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_random_json_gives_a_clean_error(value: Any) -> None:
    assert_clean_error(json.dumps(value).encode())


@given(reports(), st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_truncated_batches_give_a_clean_error(report: Report, data: st.DataObject) -> None:
    encoded = b"[" + encode_report(report) + b"]"
    cut = data.draw(st.integers(0, len(encoded) - 1))
    assert_clean_error(encoded[:cut])


def valid_doc() -> dict[str, Any]:
    return {
        "source": {"id": "uav-1", "kind": "uav"},
        "observed_at": "2026-05-04T11:59:00Z",
        "position": {"lat": 53.1, "lon": 18.0, "ce": 30.0},
        "identity": "hostile",
        "sidc": "10061500001101000000",
        "grading": "B2",
    }


MUTATIONS: list[tuple[str, Any, str]] = [
    ("position.lat", 90.0001, "position.lat"),
    ("position.lat", -91, "position.lat"),
    ("position.lon", 180.5, "position.lon"),
    ("position.lat", "53", "position.lat"),
    ("position.ce", 0, "position.ce"),
    ("position.ce", -5, "position.ce"),
    ("position.alt", 1e999, "position.alt"),
    ("position.unknown", 1, "position"),
    ("grading", "G1", "grading"),
    ("grading", "A7", "grading"),
    ("grading", "a1", "grading"),
    ("grading", 12, "grading"),
    ("identity", "enemy", "identity"),
    ("identity", "friend", "identity"),
    ("source.kind", "drone", "source.kind"),
    ("source.id", "", "source.id"),
    ("source.id", "x" * 200, "source.id"),
    ("observed_at", "2026-05-04T11:59:00", "observed_at"),
    ("observed_at", "yesterday", "observed_at"),
    ("observed_at", "2026-05-04T12:10:00Z", "observed_at"),
    ("sidc", "1006150000110100000", "sidc"),
    ("sidc", "99061500001101000000", "sidc"),
    ("sidc", "10091500001101000000", "sidc"),
    ("label", {"classification": "TOP-SECRET"}, "label.classification"),
    ("label", {"classification": "SECRET", "releasable_to": ["nato"]}, "label.releasable_to[0]"),
    ("label", {"classification": "SECRET", "releasable_to": ["X"] * 65}, "label.releasable_to"),
    ("remarks", "r" * 5000, "remarks"),
    ("remarks", "bell\u0007", "remarks"),
    ("remarks", "delete\u007f", "remarks"),
    ("remarks", "not a character \uffff", "remarks"),
    ("quantity", -1, "quantity"),
    ("velocity", {"course": 360, "speed": 1}, "velocity.course"),
    ("subject", "has space", "subject"),
    ("parent", "has space", "parent"),
    ("parent", "", "parent"),
    ("retraction", "yes", "retraction"),
    ("retraction", True, "retraction"),
    ("valid_until", "2026-05-04T11:59:00Z", "valid_until"),
    ("valid_until", "2026-05-04T11:00:00Z", "valid_until"),
    ("valid_until", "2026-05-11T11:59:01Z", "valid_until"),
    ("valid_until", "2026-05-04T13:00:00", "valid_until"),
    ("valid_until", "until further notice", "valid_until"),
    ("extra", True, "$"),
]


def mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target = doc
    *parents, leaf = path.split(".")
    for key in parents:
        target = target[key]
    target[leaf] = value
    return doc


@pytest.mark.parametrize(("path", "value", "field"), MUTATIONS)
def test_each_rule_names_the_field_and_the_reason(path: str, value: Any, field: str) -> None:
    doc = mutate(valid_doc(), path, value)
    data = json.dumps([valid_doc(), doc]).replace("Infinity", "1e999").encode()
    error = assert_clean_error(data).errors[0]
    assert error.index == 1
    assert error.field == field, error


@pytest.mark.parametrize(
    ("valid_until", "reason"),
    [
        ("2026-05-04T11:58:00Z", "must be after observed_at"),
        ("2026-05-04T11:59:00Z", "must be after observed_at"),
        ("2026-05-11T11:59:00.001Z", "must be at most 7 days after observed_at"),
    ],
)
def test_a_validity_must_end_after_the_report_and_within_the_longest_hold(
    valid_until: str, reason: str
) -> None:
    doc = mutate(valid_doc(), "valid_until", valid_until)
    [error] = assert_clean_error(json.dumps([doc]).encode()).errors
    assert (error.field, error.reason) == ("valid_until", reason)
    doc = mutate(valid_doc(), "valid_until", "2026-05-11T13:59:00+02:00")
    [report] = codec().decode_batch(json.dumps([doc]).encode(), now=NOW, new_id=str)
    assert report.valid_until == datetime(2026, 5, 11, 11, 59, tzinfo=UTC)


def test_a_batch_reports_every_bad_item_with_its_index() -> None:
    bad_lat = mutate(valid_doc(), "position.lat", 100)
    bad_kind = mutate(valid_doc(), "source.kind", "rumour")
    data = json.dumps([bad_lat, valid_doc(), bad_kind]).encode()
    errors = assert_clean_error(data).errors
    assert [(e.index, e.field) for e in errors] == [(0, "position.lat"), (2, "source.kind")]


def test_empty_and_oversized_batches_are_errors() -> None:
    assert "empty" in assert_clean_error(b"[]").errors[0].reason
    with pytest.raises(BatchTooLargeError):
        codec().decode_batch(json.dumps([valid_doc()] * 51).encode(), now=NOW, new_id=str)
    assert "array" in assert_clean_error(b'{"a": 1}').errors[0].reason


def test_the_future_skew_is_configurable() -> None:
    lenient = ReportCodec(msgspec.structs.replace(POLICY, max_future_skew=timedelta(hours=1)))
    doc = mutate(valid_doc(), "observed_at", "2026-05-04T12:30:00Z")
    [report] = lenient.decode_batch(json.dumps([doc]).encode(), now=NOW, new_id=str)
    assert report.observed_at == datetime(2026, 5, 4, 12, 30, tzinfo=UTC)
    assert_clean_error(json.dumps([doc]).encode())


def test_defaults_fill_what_a_client_leaves_out() -> None:
    doc = valid_doc()
    del doc["identity"]
    del doc["grading"]
    ids = counter_ids()
    [report] = codec().decode_batch(json.dumps([doc]).encode(), now=NOW, new_id=ids)
    assert report.id == "assigned-0"
    assert report.identity is Identity.HOSTILE, "from the SIDC's standard identity digit"
    assert report.grading == Grading("F", 6)
    assert report.label == Label("UNCLASSIFIED", ())
    assert report.received_at is None
    plain = {key: value for key, value in doc.items() if key != "sidc"}
    [unnamed] = codec().decode_batch(json.dumps([plain]).encode(), now=NOW, new_id=ids)
    assert unnamed.identity is Identity.UNKNOWN


def test_times_are_normalised_to_utc_and_communities_sorted() -> None:
    doc = mutate(valid_doc(), "observed_at", "2026-05-04T13:30:00+02:00")
    doc["label"] = {"classification": "SECRET", "releasable_to": ["UKR", "NATO", "UKR"]}
    [report] = codec().decode_batch(json.dumps([doc]).encode(), now=NOW, new_id=str)
    assert report.observed_at == datetime(2026, 5, 4, 11, 30, tzinfo=UTC)
    assert report.label.releasable_to == ("NATO", "UKR")

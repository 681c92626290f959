"""The items parameters parsed strictly: what is accepted, what is refused and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.datastructures import QueryParams

from tessera.transports.web.ogc.params import (
    DEFAULT_LIMIT,
    FORMAT_ONLY,
    MAX_LIMIT,
    ItemsQuery,
    Period,
    check_parameters,
    items_query,
)
from tessera.transports.web.params import ParameterError

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
T1 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def parse(query: str) -> ItemsQuery:
    return items_query(QueryParams(query))


def refused(query: str) -> ParameterError:
    with pytest.raises(ParameterError) as caught:
        parse(query)
    return caught.value


def test_defaults() -> None:
    assert parse("") == ItemsQuery(limit=DEFAULT_LIMIT, offset=0)
    assert parse("f=json") == ItemsQuery()


def test_bbox_of_four_or_six_numbers() -> None:
    assert parse("bbox=18,53,19,54").bbox == (18.0, 53.0, 19.0, 54.0)
    six = parse("bbox=18,53,-10,19,54,500")
    assert (six.bbox, six.heights) == ((18.0, 53.0, 19.0, 54.0), (-10.0, 500.0))
    # West above east crosses the antimeridian: allowed.
    assert parse("bbox=170,-10,-170,10").bbox == (170.0, -10.0, -170.0, 10.0)


@pytest.mark.parametrize(
    "value",
    [
        "1,2,3",
        "1,2,3,4,5",
        "a,b,c,d",
        "18,54,19,53",
        "18,53,200,54",
        "1,2,nan,3,4,5",
        "18,53,10,19,54,5",
        "",
    ],
)
def test_bad_bbox_names_the_parameter(value: str) -> None:
    assert refused(f"bbox={value}").name == "bbox"


def test_datetime_instant_and_intervals() -> None:
    assert parse("datetime=2026-05-04T09:30:00Z").period == Period(T0, T0)
    assert parse("datetime=2026-05-04T11:30:00%2B02:00").period == Period(T0, T0)
    both = "datetime=2026-05-04T09:30:00Z/2026-05-04T10:00:00Z"
    assert parse(both).period == Period(T0, T1)
    assert parse("datetime=../2026-05-04T10:00:00Z").period == Period(None, T1)
    assert parse("datetime=2026-05-04T09:30:00Z/..").period == Period(T0, None)
    assert parse("datetime=2026-05-04T09:30:00Z/").period == Period(T0, None)
    assert parse("datetime=/2026-05-04T10:00:00Z").period == Period(None, T1)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-05-04",
        "2026-05-04T09:30:00",
        "2026-05-04T10:00:00Z/2026-05-04T09:30:00Z",
        "2026-05-04T09:30:00Z/x",
        "",
    ],
)
def test_bad_datetime_names_the_parameter(value: str) -> None:
    assert refused(f"datetime={value}").name == "datetime"


def test_periods_overlap_with_open_ends() -> None:
    assert Period(T0, T0).overlaps(Period(None, None))
    assert Period(T0, T1).overlaps(Period(T1, None))
    assert not Period(T0, T0).overlaps(Period(T1, None))
    assert not Period(T1, None).overlaps(Period(None, T0))
    assert Period(None, T0).overlaps(Period(None, T1))


def test_limit_and_offset() -> None:
    assert parse("limit=7&offset=14") == ItemsQuery(limit=7, offset=14)
    # Above the maximum is the maximum, not an error (the standard's choice).
    assert parse("limit=1000000").limit == MAX_LIMIT
    for bad in ("limit=0", "limit=-1", "limit=1.5", "limit=+7", "limit= 7", "limit=ten"):
        assert refused(bad).name == "limit", bad
    for bad in ("offset=-1", "offset=x", "offset="):
        assert refused(bad).name == "offset", bad


def test_unknown_repeated_and_unsupported_format_are_refused() -> None:
    unknown = refused("bbx=1,2,3,4")
    assert unknown.name == "bbx"
    assert "not a parameter" in unknown.reason
    assert refused("limit=1&limit=2").name == "limit"
    assert refused("f=html").name == "f"
    with pytest.raises(ParameterError, match="limit"):
        check_parameters(QueryParams("limit=1"), FORMAT_ONLY)
    check_parameters(QueryParams("f=json"), FORMAT_ONLY)

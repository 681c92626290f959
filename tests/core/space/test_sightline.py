"""The line of sight's polynomials agree with the cubic pieces they are built from."""

from __future__ import annotations

import numpy as np

from tessera.core.space.hermite import Pieces, elevation_sine
from tessera.core.space.sightline import SightPolynomials


def _pieces(rows: int) -> Pieces:
    rng = np.random.default_rng(5)
    site = rng.normal(size=(3, rows))
    site *= 6378.0 / np.linalg.norm(site, axis=0)
    up = site / np.linalg.norm(site, axis=0)
    p0 = site * 1.1 + rng.normal(0, 500, (3, rows))
    v0 = rng.normal(0, 4.0, (3, rows))
    p1 = p0 + 120.0 * v0
    v1 = v0 + rng.normal(0, 0.1, (3, rows))
    return Pieces(np.zeros(rows), 120.0, (p0, v0, p1, v1), site, up)


def test_sine_matches_the_pieces_elevation() -> None:
    pieces = _pieces(200)
    fractions = np.linspace(0.0, 1.0, 200)
    expected = elevation_sine(
        pieces.position(120.0 * fractions, slice(None)) - pieces.site, pieces.up
    )
    assert np.allclose(SightPolynomials.of(pieces).sine(fractions), expected, atol=1e-12)


def test_ends_give_the_sine_and_its_rate() -> None:
    sight = SightPolynomials.of(_pieces(200))
    (e0, r0, _), (e1, r1, _) = sight.ends()
    h = 1e-4
    for s, sine, rate in ((0.0, e0, r0), (1.0, e1, r1)):
        at = np.full(200, s)
        assert np.allclose(sight.sine(at), sine, atol=1e-12)
        slope = (sight.sine(at + h) - sight.sine(at - h)) / (2 * h * 120.0)
        assert np.allclose(slope, rate, rtol=1e-5, atol=1e-9)


def test_culminations_are_where_the_sine_peaks() -> None:
    sight = SightPolynomials.of(_pieces(2000))
    (_, _, g0), (_, _, g1) = sight.ends()
    rows = np.flatnonzero((g0 > 0) & (g1 <= 0))
    assert rows.size > 10
    peaks = sight.subset(rows)
    s = peaks.culminations(g0[rows], g1[rows])
    dense = np.max([peaks.sine(np.full(rows.size, f)) for f in np.linspace(0.0, 1.0, 4001)], axis=0)
    # Within a thousandth of a degree of the densely sampled highest point, from cubics
    # that bend more than any orbit's two minutes do.
    shortfall = np.arcsin(np.minimum(dense, 1.0)) - np.arcsin(peaks.sine(s))
    assert np.degrees(np.max(shortfall)) < 1e-3


def test_satellites_never_in_view_give_an_empty_table_of_the_right_types() -> None:
    from datetime import UTC, datetime

    from tessera.core.space.elements import ElementSet
    from tessera.core.space.passes import Sites, find_passes

    # A geostationary satellite out of the site's sight: the screen keeps no interval at all.
    geo = ElementSet(
        norad_id=1,
        name="GEO",
        object_id="2026-001A",
        epoch=datetime(2026, 6, 1, tzinfo=UTC),
        mean_motion=1.0027,
        eccentricity=0.0001,
        inclination=0.05,
        ra_of_asc_node=0.0,
        arg_of_pericenter=0.0,
        mean_anomaly=0.0,
        bstar=0.0,
    )
    start = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
    table = find_passes([geo], Sites(lat=[51.5], lon=[0.0], alt=[0.0]), start, start + 3600)
    assert len(table) == 0
    assert table.satellite.dtype == np.int64 and table.site.dtype == np.int64

"""Fusion checkpoints: a worker resumed from one sees exactly what one that never stopped
sees, and a checkpoint that is not one is refused with ValueError, never a crash."""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.core.fusion import imm
from tessera.core.fusion.checkpoint import FORMAT, VERSION, decode_tracker, encode_tracker
from tessera.core.fusion.checkpoint_format import dec_hook, enc_hook
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Identity, Label, Report, SourceKind, Velocity
from tessera.sim.scenario import Exercise, ScenarioConfig
from tests.core.fusion_support import T0, report, unit_report

Step = tuple[datetime, list[Report]]
SCHEME = ClassificationScheme()
# (FINE lets only fixes up to a minute older than their track correct it, so the imagery
# two minutes late only confirms: both paths are resumed.)
FINE = FusionSettings(batch_seconds=0.001, update_lag=60.0)
WIDE = FusionSettings(batch_seconds=2.0)


def _json(value: object) -> bytes:
    return msgspec.json.encode(value, enc_hook=enc_hook)


def _keyed(subject: str, *, at: float, lat: float, source: str | None = None) -> Report:
    base = unit_report(at=at, lat=lat)
    return msgspec.structs.replace(
        base,
        subject=subject,
        name=f"{subject.upper()} at {lat:.1f}",  # a name its reports give it, changing
        parent=f"{subject}-parent",
        source=msgspec.structs.replace(base.source, id=source or subject),
        received_at=base.observed_at + timedelta(seconds=0.3),
    )


def _handmade_reports() -> list[Report]:
    """Several sources about a few objects: keyed self-reports (one jumps, one falls
    silent), anonymous sightings of a moving vehicle by two sensors, a ship with a stated
    velocity, a report that arrives two minutes late, and a second life after a long
    silence in which everything has coasted, died and been dropped."""
    reports: list[Report] = []
    for k in range(40):
        t = 5.0 * k + 0.11
        reports.append(report(at=t, lat=53.0 + 0.0001 * t, lon=18.0, ce=25, received_after=0.4))
        if k % 3 == 0:
            reports.append(
                report(
                    at=t + 1.3,
                    lat=53.0 + 0.0001 * (t + 1.3) + 0.00005,
                    lon=18.0001,
                    ce=60,
                    kind=SourceKind.SENSOR,
                    source="radar-2",
                    grading="C3",
                    identity=Identity.SUSPECT,
                    received_after=0.2,
                )
            )
        reports.append(_keyed("bn-1", at=t + 2.2, lat=52.5 + 0.00002 * t))
        if k < 12:
            reports.append(_keyed("bn-2", at=t + 3.1, lat=52.6))
        if k < 18 and k % 2 == 0:
            reports.append(
                report(
                    at=t + 0.7,
                    lat=54.2 + 0.00005 * t,
                    lon=19.0,
                    kind=SourceKind.AIS,
                    source="ais-1",
                    identity=Identity.NEUTRAL,
                    grading="A1",
                    sidc=None,
                    velocity=Velocity(0.0, 5.0),
                    label=Label("RESTRICTED", ("NATO",)),
                )
            )
    # Imagery of the first minute, arriving minutes later, and a keyed jump.
    reports.append(
        report(
            at=30.4,
            lat=53.003,
            ce=15,
            kind=SourceKind.SATELLITE,
            source="sat-1",
            received_after=150.0,
        )
    )
    reports.append(_keyed("bn-1", at=150.9, lat=52.9))
    # After the silence: new tracks take the freed rows, bn-1 comes back.
    for k in range(8):
        t = 1700.0 + 4.0 * k + 0.17
        reports.append(report(at=t, lat=53.4 + 0.0001 * k, lon=18.2, source="uav-3"))
        reports.append(_keyed("bn-1", at=t + 1.1, lat=52.7))
    return sorted(reports, key=_received)


def _received(item: Report) -> datetime:
    assert item.received_at is not None
    return item.received_at


def _steps(stream: Sequence[Report], ticks: Sequence[float]) -> list[Step]:
    """Feed in steps of 1-4 reports (as a worker does), each closing up to its last received
    time, with ticks (steps without reports) wherever the stream is quiet. Reports are read
    back as the journal would hand them over (an int ``ce`` becomes a float)."""
    reports = _from_journal(stream)
    steps: list[Step] = []
    pending_ticks = sorted(T0 + timedelta(seconds=s) for s in ticks)
    sizes = itertools.cycle((1, 3, 2, 4, 1, 1))
    i = 0
    while i < len(reports):
        chunk = list(reports[i : i + next(sizes)])
        while pending_ticks and pending_ticks[0] < _received(chunk[0]):
            steps.append((pending_ticks.pop(0), []))
        if pending_ticks:
            chunk = [item for item in chunk if _received(item) < pending_ticks[0]]
        i += len(chunk)
        now = _received(chunk[-1])
        if i < len(reports) and _received(reports[i]) == now:
            now -= timedelta(microseconds=1)
        steps.append((now, chunk))
    steps.extend((tick, []) for tick in pending_ticks)
    return steps


def _from_journal(reports: Sequence[Report]) -> list[Report]:
    return msgspec.json.decode(_json(list(reports)), type=list[Report], dec_hook=dec_hook)


@functools.cache
def _handmade_steps() -> list[Step]:
    return _steps(_handmade_reports(), (205.0, 400.0, 700.0, 900.0, 1000.5, 1250.0, 1600.0, 1850.0))


@functools.cache
def _simulated_steps() -> list[Step]:
    config = ScenarioConfig(seed=7, rate=30.0, units=12, opposing=8, column=4, drones=3)
    reports = [
        msgspec.structs.replace(sighting.report, received_at=sighting.send_at)
        for sighting in Exercise(config).sightings(duration=300)
    ]
    return _steps(reports, (900.0, 1500.0))


def _run(engine: KalmanTracker, steps: Sequence[Step]) -> list[bytes]:
    return [_json(engine.step(now, batch)) for now, batch in steps]


def _check_resume(steps: list[Step], fusion: FusionSettings, cuts: Sequence[int]) -> list[int]:
    whole = KalmanTracker(SCHEME, fusion)
    expected = _run(whole, steps)
    pending = []
    for cut in cuts:
        before = KalmanTracker(SCHEME, fusion)
        _run(before, steps[:cut])
        pending.append(before.pending_reports())
        stored = encode_tracker(before)
        resumed = decode_tracker(stored, SCHEME, fusion)
        assert encode_tracker(resumed) == stored
        assert _run(resumed, steps[cut:]) == expected[cut:], f"cut at step {cut}"
        assert _json(list(resumed.tracks())) == _json(list(whole.tracks()))
        assert resumed.stats == whole.stats
        assert encode_tracker(resumed) == encode_tracker(whole)
    return pending


def _cuts(steps: Sequence[Step]) -> list[int]:
    n = len(steps)
    return sorted({0, 1, 2, n // 5, n // 3, n // 2, (2 * n) // 3, (4 * n) // 5, n - 2, n - 1, n})


@pytest.mark.parametrize("fusion", [FINE, WIDE], ids=["fine", "wide"])
def test_resumes_handmade_stream_exactly(fusion: FusionSettings) -> None:
    steps = _handmade_steps()
    pending = _check_resume(steps, fusion, _cuts(steps))
    if fusion is WIDE:
        # Some cuts fall inside an open micro-batch window: its reports travel along.
        assert any(pending)


def test_handmade_stream_exercises_the_lifecycle() -> None:
    engine = KalmanTracker(SCHEME, FINE)
    results = [engine.step(now, batch) for now, batch in _handmade_steps()]
    statuses = {track.status for result in results for track in result.updated}
    assert {"tentative", "confirmed", "coasting", "dead"} <= {str(s) for s in statuses}
    names = {track.name for result in results for track in result.updated}
    assert {"BN-1 at 52.9", "BN-1 at 52.7", "BN-2 at 52.6"} <= names
    assert any(result.removed for result in results)
    assert engine.stats.keyed and engine.stats.associated and engine.stats.late_confirmations


@pytest.mark.parametrize("fusion", [FINE, WIDE], ids=["fine", "wide"])
def test_resumes_simulated_stream_exactly(fusion: FusionSettings) -> None:
    steps = _simulated_steps()
    n = len(steps)
    _check_resume(steps, fusion, [n // 4, n // 2, (3 * n) // 4, n - 1])


def test_every_cut_of_a_wide_window_stream() -> None:
    steps = _handmade_steps()[:60]
    assert any(_check_resume(steps, WIDE, range(len(steps) + 1)))


# -- refusals ----------------------------------------------------------------------------


@functools.cache
def _stored() -> bytes:
    engine = KalmanTracker(SCHEME, WIDE)
    _run(engine, _handmade_steps()[:50])
    assert engine.pending_reports()
    return encode_tracker(engine)


def _altered(change: dict[str, Any]) -> bytes:
    document = msgspec.json.decode(_stored())
    for path, value in change.items():
        *parents, leaf = path.split(".")
        target = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(leaf) if leaf.isdigit() else leaf] = value
    return msgspec.json.encode(document)


def test_unaltered_document_decodes() -> None:
    decode_tracker(_altered({}), SCHEME, WIDE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": VERSION + 1}, "unsupported fusion checkpoint version"),
        ({"format": "something.else"}, "not a fusion checkpoint"),
        ({"arrays.lat.shape": [3]}, "shape"),
        ({"arrays.cov.data": ""}, "bytes"),
        ({"arrays.rows": 3}, "does not fit"),
        ({"arrays.lat.dtype": "<f4"}, "dtype"),
        ({"arrays.capacity": 10**9}, "capacity"),
        ({"arrays.free": []}, "capacity"),
        ({"records.0.row": 1023}, "row not in use"),
        ({"by_row": []}, "holder of its row"),
        ({"arrays.alive.data": ""}, "bytes"),
        ({"by_id.0": 10**6}, "refers to record"),
        ({"windows.0.end_us": 1}, "window boundary"),
        ({"records.0.label_level": "TOP-SECRET-ISH"}, "unknown classification"),
        ({"records.0.grading": "Z9"}, "invalid fusion checkpoint"),
        ({"clock": "soon"}, "invalid fusion checkpoint"),
    ],
)
def test_refuses_inconsistent_documents(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_tracker(_altered(change), SCHEME, WIDE)


def test_refuses_other_settings_and_levels() -> None:
    with pytest.raises(ValueError, match="other fusion settings"):
        decode_tracker(_stored(), SCHEME, FINE)
    with pytest.raises(ValueError, match="other classification levels"):
        decode_tracker(_stored(), ClassificationScheme(("LOW", "HIGH")), WIDE)


def test_header_names_format_and_version() -> None:
    document = msgspec.json.decode(_stored())
    assert (document["format"], document["version"]) == (FORMAT, VERSION)
    assert isinstance(document["arrays"]["history"]["data"], str)  # base64 bytes


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"null",
        b"\xff\xfe",
        b"[" * 200_000,
        b'{"a":' * 50_000,
        b'{"format":"tessera.fusion.checkpoint","version":1}',
        b'{"format":"tessera.fusion.checkpoint","version":1,"x":' + b"[" * 100_000,
    ],
    ids=["empty", "null", "not-utf8", "deep-array", "deep-object", "header-only", "deep-tail"],
)
def test_refuses_malformed_documents(data: bytes) -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        decode_tracker(data, SCHEME, WIDE)


@given(st.binary(max_size=512))
@settings(max_examples=300)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        decode_tracker(data, SCHEME, WIDE)


@given(st.data())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_damaged_documents_decode_or_are_refused(data: st.DataObject) -> None:
    stored = bytearray(_stored())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(stored) - 1))
        stored[at] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ValueError):
        decode_tracker(bytes(stored), SCHEME, WIDE)


def _leaves(node: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, (*path, key))]
    if isinstance(node, list) and node:
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, (*path, i))]
    return [path]


_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=24),
    st.lists(st.integers(-3, 3000), max_size=4),
)


@given(st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_altered_values_decode_or_are_refused(data: st.DataObject) -> None:
    document = msgspec.json.decode(_stored())
    leaves = _leaves(document)
    for _ in range(data.draw(st.integers(1, 3))):
        *parents, leaf = data.draw(st.sampled_from(leaves))
        target = document
        for part in parents:
            target = target[part]
        target[leaf] = data.draw(_JSON_VALUES)
    with contextlib.suppress(ValueError):
        decode_tracker(msgspec.json.encode(document), SCHEME, WIDE)


# -- holds (version 2) -------------------------------------------------------------------


def _declared(at: float, hold: float, **fields: Any) -> Report:
    base = report(at=at, source="hq-nvg", kind=SourceKind.SYSTEM, grading="C3", **fields)
    return msgspec.structs.replace(base, valid_until=base.observed_at + timedelta(seconds=hold))


@functools.cache
def _held_steps() -> list[Step]:
    """Declarations among sightings: a keyed one replaced by a newer, shorter one; an
    anonymous one sighted by a drone; one arriving late; and sightings past their ends."""
    reports = [
        _declared(0.2, 2_000.0, subject="nvg:1"),
        _declared(0.4, 1_500.0, lat=53.2),
        _declared(-900.0, 2_400.0, lat=53.4, received_after=910.0),
        _declared(300.3, 900.0, subject="nvg:1", identity=Identity.SUSPECT),
    ]
    reports += [report(at=t + 0.6, lat=53.2, source="uav-7", grading="B2") for t in (5, 50, 95)]
    reports += [report(at=t, subject="nvg:1", identity=Identity.NEUTRAL) for t in (620, 1180)]
    ticks = (150.0, 700.0, 1200.0, 1201.5, 1499.0, 1501.0, 1600.0, 1900.0, 2600.0)
    return _steps(sorted(reports, key=_received), ticks)


def test_resumes_held_declarations_exactly() -> None:
    steps = _held_steps()
    _check_resume(steps, FINE, range(len(steps) + 1))
    engine = KalmanTracker(SCHEME, FINE)
    held = [
        (now, track.id)
        for now, batch in steps
        for track in engine.step(now, batch).updated
        if track.valid_until is not None and now - T0 > timedelta(seconds=1_000)
    ]
    assert held, "tracks still held past the usual drop time"


def test_a_version_1_document_loads_with_nothing_held() -> None:
    steps = _handmade_steps()
    whole = KalmanTracker(SCHEME, FINE)
    expected = _run(whole, steps)
    cut = len(steps) // 2
    before = KalmanTracker(SCHEME, FINE)
    _run(before, steps[:cut])
    document = msgspec.json.decode(encode_tracker(before))
    document["version"] = 1
    del document["arrays"]["held_until"]
    for record in document["records"]:
        for name in ("declared_at", "declared_until", "declared_confidence"):
            del record["belief"][name]
    resumed = decode_tracker(msgspec.json.encode(document), SCHEME, FINE)
    assert _run(resumed, steps[cut:]) == expected[cut:]


# -- scans and staleness (version 3) -----------------------------------------------------


def test_a_version_2_document_loads_with_no_scans_remembered() -> None:
    steps = _simulated_steps()
    cut = len(steps) // 2
    before = KalmanTracker(SCHEME, WIDE)
    _run(before, steps[:cut])
    document = msgspec.json.decode(encode_tracker(before))
    assert document["version"] == 4
    document["version"] = 2
    for name in ("shown_at", "model_means", "model_covs", "model_probs"):
        del document["arrays"][name]
    for record in document["records"]:
        del record["scans"]
    resumed = decode_tracker(msgspec.json.encode(document), SCHEME, WIDE)
    assert {t.id for t in resumed.tracks()} == {t.id for t in before.tracks()}
    assert all(not record.scans for record in resumed.table.records.values())
    _run(resumed, steps[cut:])
    whole = KalmanTracker(SCHEME, WIDE)
    _run(whole, steps)
    assert resumed.stats.reports == whole.stats.reports


# -- motion models (version 4) -------------------------------------------------------------


def test_a_version_3_document_loads_with_each_track_s_state_as_both_models() -> None:
    steps = _simulated_steps()
    cut = len(steps) // 2
    before = KalmanTracker(SCHEME, WIDE)
    _run(before, steps[:cut])
    arrays = before.table.arrays
    live = np.flatnonzero(arrays.alive)
    assert not np.allclose(arrays.model_probs[live], imm.PRIOR), "fixes moved the models"
    document = msgspec.json.decode(encode_tracker(before))
    document["version"] = 3
    for name in ("model_means", "model_covs", "model_probs"):
        del document["arrays"][name]
    resumed = decode_tracker(msgspec.json.encode(document), SCHEME, WIDE)
    restored = resumed.table.arrays
    assert np.array_equal(restored.model_probs[live], np.tile(imm.PRIOR, (live.size, 1)))
    assert np.array_equal(restored.model_covs[live, imm.STEADY], arrays.cov[live])
    assert np.array_equal(restored.model_means[live, imm.MANOEUVRING, 2:], arrays.vel[live])
    assert {t.id for t in resumed.tracks()} == {t.id for t in before.tracks()}
    _run(resumed, steps[cut:])


@pytest.mark.parametrize("value", [1.5, -0.1, 0.3, math.nan])
def test_refuses_motion_model_probabilities_out_of_range(value: float) -> None:
    document = msgspec.json.decode(_stored())
    stored = document["arrays"]["model_probs"]
    rows = stored["shape"][0]
    probs = np.full((rows, 2), value).astype("<f8")
    stored["data"] = base64.b64encode(probs.tobytes()).decode()
    with pytest.raises(ValueError, match="motion models out of range"):
        decode_tracker(msgspec.json.encode(document), SCHEME, WIDE)


def test_a_document_with_three_identity_classes_loads_with_four() -> None:
    # Written before the belief had its unidentified class: that class is taken as no
    # likelier than the least likely one, and the tracks show what they showed.
    steps = _handmade_steps()
    before = KalmanTracker(SCHEME, FINE)
    _run(before, steps[: len(steps) // 2])
    document = msgspec.json.decode(encode_tracker(before))
    for record in document["records"]:
        del record["belief"]["log_p"][3]
    resumed = decode_tracker(msgspec.json.encode(document), SCHEME, FINE)
    assert all(len(record.belief.log_p) == 4 for record in resumed.table.records.values())
    shown = {t.id: t.identity for t in before.tracks()}
    assert {t.id: t.identity for t in resumed.tracks()} == shown

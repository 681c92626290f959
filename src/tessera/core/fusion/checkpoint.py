"""A checkpoint of the fusion engine: its complete state as a safe, versioned document.

A standby worker decodes the latest stored checkpoint and replays only the journal after
it, and ends with exactly the picture of a worker that never stopped: the checkpoint
holds every piece of state the engine's steps read (the track arrays, every record, the
three record maps, the journal's clock and sweep second, the reports of open micro-batch
windows, the changes not yet taken, and the counters). What the engine derives from its
settings and code (motion profiles, window length, the helpers' wiring) is rebuilt.

The document is msgspec JSON of the structs in ``checkpoint_format``; it names no code
(no pickle), and decoding it validates everything before any state is built, refusing
(``ValueError``) another format or version, other settings or classification levels, and
anything inconsistent.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from tessera.core.fusion import imm
from tessera.core.fusion.arrays import (
    HISTORY_SAMPLES,
    PINNED_HOSTILE,
    UNPINNED,
    TrackArrays,
)
from tessera.core.fusion.checkpoint_format import (
    DECODER,
    ENCODER,
    FORMAT,
    HEADER_DECODER,
    READABLE_VERSIONS,
    VERSION,
    ArraysState,
    BeliefState,
    Checkpoint,
    RecordState,
    ScanState,
    WindowState,
    pack,
    unpack,
    used_rows,
)
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.fusion.identity import CLASSES, UNIFORM, IdentityBelief
from tessera.core.fusion.motion import MOTION_CLASSES
from tessera.core.fusion.record import SCANS_KEPT, TrackRecord
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Report, Source

__all__ = ["FORMAT", "FORMAT_VERSION", "VERSION", "decode_tracker", "encode_tracker"]

# Part of a checkpoint's fingerprint (tessera.checkpointing): a checkpoint taken under
# another is never used. It stays while every older document still loads (a document's
# own version, VERSION, is one of READABLE_VERSIONS; the decoder refuses every other).
FORMAT_VERSION = 1

_FLOAT = "<f8"
_INT8 = "|i1"
_BOOL = "|b1"
# name, dtype, shape of one row
_LAYOUT: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("lat", _FLOAT, ()),
    ("lon", _FLOAT, ()),
    ("vel", _FLOAT, (2,)),
    ("cov", _FLOAT, (4, 4)),
    ("t", _FLOAT, ()),
    ("shown_at", _FLOAT, ()),
    ("seen", _FLOAT, ()),
    ("dead_since", _FLOAT, ()),
    ("held_until", _FLOAT, ()),
    ("model_means", _FLOAT, (2, 4)),
    ("model_covs", _FLOAT, (2, 4, 4)),
    ("model_probs", _FLOAT, (2,)),
    ("history", _FLOAT, (HISTORY_SAMPLES, 4)),
    ("motion", _INT8, ()),
    ("side", _INT8, ()),
    ("status", _INT8, ()),
    ("alive", _BOOL, ()),
)
_STATUS_COUNT = 5


# -- encoding ------------------------------------------------------------------------------


def encode_tracker(tracker: KalmanTracker) -> bytes:
    """The tracker's complete state, as a checkpoint document."""
    records: list[TrackRecord] = []
    index: dict[int, int] = {}
    table = tracker.table
    maps = (table.records, table.by_row, table.by_subject)
    for mapping in maps:
        for record in mapping.values():
            if id(record) not in index:
                index[id(record)] = len(records)
                records.append(record)
    checkpoint = Checkpoint(
        format=FORMAT,
        version=VERSION,
        settings=tracker.settings,
        levels=list(tracker.scheme.levels),
        stats=msgspec.structs.replace(tracker.stats),
        clock=None if table.clock == -math.inf else table.clock,
        swept=tracker._swept,
        arrays=_arrays_state(table.arrays),
        records=[_record_state(record) for record in records],
        by_id=[index[id(record)] for record in table.records.values()],
        by_row=[index[id(record)] for record in table.by_row.values()],
        by_subject=[index[id(record)] for record in table.by_subject.values()],
        windows=[WindowState(end_us, list(reports)) for end_us, reports in tracker._windows],
        dirty=list(table.dirty),
        removed=sorted(table.removed),
    )
    return ENCODER.encode(checkpoint)


def _arrays_state(arrays: TrackArrays) -> ArraysState:
    columns: dict[str, npt.NDArray[Any]] = {name: getattr(arrays, name) for name, _, _ in _LAYOUT}
    rows = used_rows(list(columns.values()), arrays.capacity)
    packed = {name: pack(column, rows) for name, column in columns.items()}
    return ArraysState(capacity=arrays.capacity, rows=rows, free=list(arrays._free), **packed)


def _record_state(record: TrackRecord) -> RecordState:
    belief = record.belief
    return RecordState(
        id=record.id,
        row=record.row,
        subject=record.subject,
        alt=record.alt,
        first_at=record.first_at,
        sidc=record.sidc,
        sidc_rank=record.sidc_rank,
        quantity=record.quantity,
        grading=record.grading,
        label_level=record.label_level,
        label_rel=sorted(record.label_rel),
        last_label=record.last_label,
        sources=[Source(sid, kind) for sid, kind in record.sources.items()],
        lineage=list(record.lineage),
        count=record.count,
        reliable_hits=record.reliable_hits,
        dead_since=record.dead_since,
        name=record.name,
        parent=record.parent,
        scans=[ScanState(source, t) for source, t in record.scans],
        belief=BeliefState(
            log_p=list(belief.log_p),
            authoritative=belief.authoritative,
            evidence=belief.evidence,
            declared_at=None if belief.declared_at == -math.inf else belief.declared_at,
            declared_until=None if belief.declared_until == math.inf else belief.declared_until,
            declared_confidence=belief.declared_confidence,
        ),
    )


# -- decoding ------------------------------------------------------------------------------


def decode_tracker(
    data: bytes, scheme: ClassificationScheme, settings: FusionSettings
) -> KalmanTracker:
    """A tracker in exactly the state the checkpoint was taken in. ``scheme`` and
    ``settings`` must be those it ran with; anything else is refused with ValueError."""
    checkpoint = _parse(data)
    if checkpoint.settings != settings:
        raise ValueError(
            f"checkpoint was taken with other fusion settings: {checkpoint.settings!r}"
        )
    if tuple(checkpoint.levels) != scheme.levels:
        raise ValueError(
            f"checkpoint was taken with other classification levels: {checkpoint.levels[:16]!r}"
        )
    tracker = KalmanTracker(scheme, settings)
    table = tracker.table
    arrays = _arrays(checkpoint.arrays)
    records = [_record(state, arrays, scheme, settings) for state in checkpoint.records]
    table.arrays = arrays
    table.records = _mapping("by_id", checkpoint.by_id, records, lambda r: r.id)
    table.by_row = _mapping("by_row", checkpoint.by_row, records, lambda r: r.row)
    by_subject = _mapping("by_subject", checkpoint.by_subject, records, lambda r: r.subject)
    if None in by_subject:
        raise ValueError("checkpoint maps a record without a subject by subject")
    table.by_subject = {key: record for key, record in by_subject.items() if key is not None}
    for record in (*table.records.values(), *table.by_subject.values()):
        if table.by_row.get(record.row) is not record:
            raise ValueError(f"checkpoint record {record.id[:64]!r} is not the holder of its row")
    alive = set(np.flatnonzero(arrays.alive).tolist())
    if set(table.by_row) != alive:
        raise ValueError("checkpoint rows in use do not match the records holding them")
    maps = (table.records, table.by_row, table.by_subject)
    if len(checkpoint.records) != len({id(r) for m in maps for r in m.values()}):
        raise ValueError("checkpoint holds records that no map refers to")
    for record in table.by_row.values():
        table.sync_belief(record)
    tracker.stats = checkpoint.stats
    table.clock = -math.inf if checkpoint.clock is None else checkpoint.clock
    tracker._swept = checkpoint.swept
    tracker._windows = _windows(checkpoint.windows, tracker._window_us)
    table.dirty = dict.fromkeys(checkpoint.dirty)
    table.removed = set(checkpoint.removed)
    if len(table.dirty) != len(checkpoint.dirty):
        raise ValueError("checkpoint lists a changed track twice")
    tracker.rewire()  # the steps count into the restored stats
    return tracker


def _parse(data: bytes) -> Checkpoint:
    try:
        header = HEADER_DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError) as error:  # RecursionError: deep nesting
        raise ValueError(f"not a fusion checkpoint: {error}") from None
    if header.format != FORMAT:
        raise ValueError(f"not a fusion checkpoint: format {header.format[:64]!r}")
    if header.version not in READABLE_VERSIONS:
        raise ValueError(
            f"unsupported fusion checkpoint version {header.version}, expected {VERSION}"
        )
    try:
        return DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError) as error:
        raise ValueError(f"invalid fusion checkpoint: {error}") from None


def _fill_models(columns: dict[str, npt.NDArray[Any]]) -> None:
    """Versions 1 to 3 kept no motion models: each starts as the track's state, in the
    models' prior proportions. Refuses models that no step could have left."""
    alive = columns["alive"]
    if "model_probs" not in columns or "model_means" not in columns or "model_covs" not in columns:
        means = np.zeros((alive.size, 2, 4))
        means[:, :, 2:] = columns["vel"][:, None, :]
        columns["model_means"] = means
        columns["model_covs"] = np.repeat(columns["cov"][:, None], 2, axis=1)
        columns["model_probs"] = np.where(alive[:, None], np.array(imm.PRIOR), 0.0)
    probs = columns["model_probs"]
    live = probs[alive]
    if not (
        np.isfinite(probs).all()
        and (probs >= 0.0).all()
        and (probs <= 1.0).all()
        and np.allclose(live.sum(axis=1), 1.0)
        and np.isfinite(columns["model_means"]).all()
        and np.isfinite(columns["model_covs"]).all()
    ):
        raise ValueError("checkpoint arrays: motion models out of range")


def _arrays(state: ArraysState) -> TrackArrays:
    capacity, rows = state.capacity, state.rows
    # Rows are either free or in use (at most ``rows`` of them), so the capacity is bounded
    # by what the document holds before anything is allocated.
    if not 0 < capacity <= len(state.free) + rows or rows > capacity:
        raise ValueError(f"checkpoint arrays: capacity {capacity} does not fit {rows} rows")
    columns = {
        name: unpack(name, stored, dtype, capacity, rows, tail)
        for name, dtype, tail in _LAYOUT
        if (stored := getattr(state, name)) is not None
    }
    alive = columns["alive"]
    if "held_until" not in columns:  # version 1: nothing is held
        columns["held_until"] = np.where(alive, math.nan, 0.0)
    if "shown_at" not in columns:  # versions 1 and 2: uncertainty shown as of the state
        columns["shown_at"] = columns["t"].copy()
    _fill_models(columns)
    if np.isinf(columns["held_until"]).any():
        raise ValueError("checkpoint arrays: a hold without an end")
    free = state.free
    if len(set(free)) != len(free) or any(row >= capacity or alive[row] for row in free):
        raise ValueError("checkpoint arrays: free rows are not distinct unused rows")
    if len(free) + int(np.count_nonzero(alive)) != capacity:
        raise ValueError("checkpoint arrays: every row must be either free or in use")
    for name, low, high in (
        ("motion", 0, len(MOTION_CLASSES) - 1),
        ("side", UNPINNED, PINNED_HOSTILE),
        ("status", 0, _STATUS_COUNT - 1),
    ):
        codes = columns[name]
        if codes.size and not (int(codes.min()) >= low and int(codes.max()) <= high):
            raise ValueError(f"checkpoint arrays: unknown {name} code")
    arrays = TrackArrays(capacity=1)  # built small: every array is replaced right after
    for name, column in columns.items():
        setattr(arrays, name, column)
    arrays.capacity = capacity
    arrays._free = list(free)
    # (Derived from the records' beliefs, filled in once the records are.)
    arrays.belief = np.tile(np.array(UNIFORM), (capacity, 1))
    arrays.declared = np.zeros(capacity, dtype=np.int8)
    return arrays


def _record(
    state: RecordState,
    arrays: TrackArrays,
    scheme: ClassificationScheme,
    settings: FusionSettings,
) -> TrackRecord:
    if state.row >= arrays.capacity or not arrays.alive[state.row]:
        raise ValueError(f"checkpoint record {state.id[:64]!r} holds a row not in use")
    if state.label_level not in scheme:
        raise ValueError(f"checkpoint record {state.id[:64]!r} has an unknown classification")
    if len(state.lineage) > settings.lineage_window:
        raise ValueError(f"checkpoint record {state.id[:64]!r} has too long a lineage")
    times = (state.belief.declared_at, state.belief.declared_until)
    if not all(
        math.isfinite(value)
        for value in (*state.belief.log_p, *(t for t in times if t is not None))
    ):
        raise ValueError(f"checkpoint record {state.id[:64]!r} has a non-finite belief")
    record = TrackRecord.__new__(TrackRecord)
    record.id = state.id
    record.row = state.row
    record.subject = state.subject
    record.alt = state.alt
    record.first_at = state.first_at
    record.sidc = state.sidc
    record.sidc_rank = state.sidc_rank
    record.quantity = state.quantity
    record.name = state.name
    record.parent = state.parent
    record.grading = state.grading
    record.label_level = state.label_level
    record.label_rel = frozenset(state.label_rel)
    record.last_label = state.last_label
    record.sources = {source.id: source.kind for source in state.sources}
    record.lineage = deque(state.lineage, maxlen=settings.lineage_window)
    scans = state.scans or []
    if len(scans) > SCANS_KEPT or not all(math.isfinite(scan.t) for scan in scans):
        raise ValueError(f"checkpoint record {state.id[:64]!r} has invalid scans")
    record.scans = deque(((scan.source, scan.t) for scan in scans), maxlen=SCANS_KEPT)
    record.count = state.count
    record.reliable_hits = state.reliable_hits
    record.dead_since = state.dead_since
    belief = IdentityBelief()
    belief.log_p = list(state.belief.log_p)
    if len(belief.log_p) < len(CLASSES):
        # Written before the unidentified class: it is no likelier than the least likely.
        belief.log_p.append(min(belief.log_p))
    belief.authoritative = state.belief.authoritative
    belief.evidence = state.belief.evidence
    declared_at, declared_until = state.belief.declared_at, state.belief.declared_until
    belief.declared_at = -math.inf if declared_at is None else declared_at
    belief.declared_until = math.inf if declared_until is None else declared_until
    belief.declared_confidence = state.belief.declared_confidence
    record.belief = belief
    return record


def _mapping(
    name: str, indices: list[int], records: list[TrackRecord], key: Any
) -> dict[Any, TrackRecord]:
    mapping: dict[Any, TrackRecord] = {}
    for i in indices:
        if i >= len(records):
            raise ValueError(f"checkpoint {name} refers to record {i} of {len(records)}")
        record = records[i]
        mapping[key(record)] = record
    if len(mapping) != len(indices):
        raise ValueError(f"checkpoint {name} maps one key twice")
    return mapping


def _windows(states: list[WindowState], window_us: int) -> deque[tuple[int, list[Report]]]:
    windows: deque[tuple[int, list[Report]]] = deque()
    for state in states:
        if state.end_us % window_us:
            raise ValueError("checkpoint window does not end on a window boundary")
        if windows and state.end_us <= windows[-1][0]:
            raise ValueError("checkpoint windows are not in time order")
        windows.append((state.end_us, list(state.reports)))
    return windows

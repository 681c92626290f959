"""The stored form of a fusion checkpoint: versioned msgspec structs, arrays as raw bytes.

Everything here is plain data that msgspec validates while decoding, so a stored
checkpoint is as safe to decode as any other untrusted document: no code is named in it
and nothing but these types can come out of it. NumPy arrays are carried as little-endian
bytes with their dtype and shape, both checked against what each array must be.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.model import (
    Altitude,
    Classification,
    Community,
    Grading,
    Identifier,
    Identity,
    Label,
    Quantity,
    Report,
    Sidc,
    Source,
    StoredName,
    Timestamp,
)

FORMAT: Final = "tessera.fusion.checkpoint"
# 2 added holds (``held_until``) and declared identities; a document of 1 loads as one
# without any (what its journal could hold). 3 added each record's latest scans and the
# stale status; a document of 1 or 2 loads with no scans remembered and nothing stale.
# 4 added each track's motion models (``model_*``, core.fusion.imm); a document of 1 to 3
# loads with both of a track's models as its state, in their prior proportions.
VERSION: Final = 4
READABLE_VERSIONS: Final = (1, 2, 3, 4)

# Bounds that keep every later computation in range whatever a document claims.
_BIG: Final = 2**62
Count = Annotated[int, msgspec.Meta(ge=0, le=_BIG)]
Micros = Annotated[int, msgspec.Meta(ge=-_BIG, le=_BIG)]
Seconds = Annotated[int, msgspec.Meta(ge=-(2**52), le=2**52)]


class ArrayData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One array: NumPy dtype string (``<f8``, ``|i1``, ``|b1``), shape, raw bytes."""

    dtype: str
    shape: list[Count]
    data: bytes


class ArraysState(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """TrackArrays. Only the first ``rows`` rows are stored: every row past them is all
    zero bytes (never allocated), and is rebuilt so, up to ``capacity``."""

    capacity: Count
    rows: Count
    free: list[Count]
    lat: ArrayData
    lon: ArrayData
    vel: ArrayData
    cov: ArrayData
    t: ArrayData
    shown_at: ArrayData | None = None  # (None: versions 1 and 2, as of ``t``)
    seen: ArrayData
    dead_since: ArrayData
    held_until: ArrayData | None = None  # (None: version 1, nothing held)
    # (None: versions 1 to 3, each model as the track's state)
    model_means: ArrayData | None = None
    model_covs: ArrayData | None = None
    model_probs: ArrayData | None = None
    history: ArrayData
    motion: ArrayData
    side: ArrayData
    status: ArrayData
    alive: ArrayData


class BeliefState(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``declared_at`` None: no declaration's time (minus infinity); ``declared_until``
    None: for good (a unit's own report). Version 1 has neither: a unit's own identity.
    ``log_p`` has three classes (friend, neutral, hostile) in checkpoints written before
    the belief had a fourth (unidentified)."""

    log_p: Annotated[list[float], msgspec.Meta(min_length=3, max_length=4)]
    authoritative: Identity | None
    evidence: Count
    declared_at: float | None = None
    declared_until: float | None = None
    declared_confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 1.0


class ScanState(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """One scan a track took a report of: its source and observed time (epoch s)."""

    source: str
    t: float


class RecordState(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A TrackRecord, field for field (``label_rel`` sorted; ``sources`` and ``scans`` in
    order; ``scans`` None: version 1 or 2, none remembered)."""

    id: str
    row: Count
    subject: str | None
    alt: Altitude | None
    first_at: Timestamp
    sidc: Sidc | None
    sidc_rank: int
    quantity: Quantity | None
    grading: Grading
    label_level: Classification
    label_rel: list[Community]
    last_label: Label | None
    sources: list[Source]
    lineage: list[str]
    count: Count
    reliable_hits: Count
    dead_since: float | None
    belief: BeliefState
    name: StoredName | None = None
    parent: Identifier | None = None
    scans: list[ScanState] | None = None


class WindowState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An open micro-batch: its end (microseconds of received time) and its reports."""

    end_us: Micros
    reports: Annotated[list[Report], msgspec.Meta(min_length=1)]


class Header(msgspec.Struct, frozen=True):
    """Read first, so another format or version is refused by name."""

    format: str
    version: int


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole engine. ``records`` lists each TrackRecord once; ``by_id``, ``by_row`` and
    ``by_subject`` are the engine's three maps, in their order, as indices into it (each
    map's key is the record's own id, row or subject). ``clock`` None is minus infinity."""

    format: str
    version: int
    settings: FusionSettings
    levels: list[str]
    stats: FusionStats
    clock: float | None
    swept: Seconds | None
    arrays: ArraysState
    records: list[RecordState]
    by_id: list[Count]
    by_row: list[Count]
    by_subject: list[Count]
    windows: list[WindowState]
    dirty: list[str]
    removed: list[str]


def enc_hook(obj: Any) -> Any:
    if isinstance(obj, Grading):
        return obj.code
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Grading:
        if not isinstance(obj, str):
            raise TypeError(f"expected an Admiralty code like 'B2', got {type(obj).__name__}")
        return Grading.parse(obj)
    raise NotImplementedError(f"no decoder for {type_!r}")


ENCODER: Final = msgspec.json.Encoder(enc_hook=enc_hook)
HEADER_DECODER: Final = msgspec.json.Decoder(Header)
DECODER: Final = msgspec.json.Decoder(Checkpoint, dec_hook=dec_hook)


def pack(array: npt.NDArray[Any], rows: int) -> ArrayData:
    """The first ``rows`` rows of ``array`` as little-endian bytes."""
    part = np.ascontiguousarray(array[:rows])
    little = part.astype(part.dtype.newbyteorder("<"), copy=False)
    return ArrayData(little.dtype.str, list(little.shape), little.tobytes())


def unpack(
    name: str, stored: ArrayData, dtype: str, capacity: int, rows: int, tail: tuple[int, ...]
) -> npt.NDArray[Any]:
    """An array of ``capacity`` rows: the stored ``rows`` rows, then zeros. Refuses any
    other dtype or shape, and booleans that are not 0 or 1."""
    expected = np.dtype(dtype)
    if stored.dtype != expected.str:
        raise ValueError(
            f"checkpoint array {name}: dtype {stored.dtype[:16]!r}, expected {expected.str!r}"
        )
    shape = (rows, *tail)
    if tuple(stored.shape) != shape:
        raise ValueError(
            f"checkpoint array {name}: shape {tuple(stored.shape)[:8]}, expected {shape}"
        )
    size = math.prod(shape) * expected.itemsize
    if len(stored.data) != size:
        raise ValueError(f"checkpoint array {name}: {len(stored.data)} bytes, expected {size}")
    if expected.kind == "b":
        raw = np.frombuffer(stored.data, dtype=np.uint8)
        if raw.size and int(raw.max()) > 1:
            raise ValueError(f"checkpoint array {name}: booleans must be 0 or 1")
    values = np.frombuffer(stored.data, dtype=expected).reshape(shape)
    native = expected.newbyteorder("=")
    array = np.zeros((capacity, *tail), dtype=native)
    array[:rows] = values
    return array


def used_rows(arrays: list[npt.NDArray[Any]], capacity: int) -> int:
    """One past the last row in which any array holds a nonzero byte."""
    used = np.zeros(capacity, dtype=bool)
    for array in arrays:
        raw = np.ascontiguousarray(array).reshape(capacity, -1).view(np.uint8)
        used |= raw.any(axis=1)
    nonzero = np.flatnonzero(used)
    return int(nonzero[-1]) + 1 if nonzero.size else 0

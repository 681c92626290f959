"""``tessera fuse``: the live engine, run over a file of reports in journal order.

The engine's clock is each report's ``received_at`` (its ``observed_at`` where that is
missing). At every whole multiple of ``every`` seconds of that clock one snapshot is
written, holding exactly what the reports received by then make of the picture. Reports
are read one line at a time, so a file of any length fits in bounded memory.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import msgspec

from tessera.batchfuse.lines import iso
from tessera.batchfuse.picture import PictureWriteError, SnapshotWriter
from tessera.codecs.errors import json_field_error
from tessera.codecs.json import decode_stored_report
from tessera.core.fusion.engine import FusionSettings, FusionStats, KalmanTracker
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Report

PROGRESS_EVERY = 50_000


class FuseInputError(ValueError):
    """A line of the input that is not a canonical report; names the file and line."""


@dataclass(frozen=True)
class FuseResult:
    """``seconds`` is the whole run; ``engine_seconds`` only the time inside the engine
    (no reading, decoding, snapshot building or writing)."""

    reports: int
    snapshots: int
    seconds: float
    engine_seconds: float
    stats: FusionStats


def read_reports(path: Path, handle: IO[bytes]) -> Iterable[tuple[int, Report]]:
    """Each report with its line number (blank lines skipped)."""
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            yield number, decode_stored_report(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise FuseInputError(f"{path}, line {number}: {exc}") from None
        except (UnicodeDecodeError, RecursionError) as exc:
            reason = json_field_error(exc, line).reason
            raise FuseInputError(f"{path}, line {number}: the line {reason}") from None


# The server's defaults for the fusion settings it reads from its settings file (the
# tests hold them equal to ``tessera.settings.Settings``'s): written out here, so that
# `tessera fuse` does not import the server's whole settings module to start.
SERVER_LINEAGE_WINDOW = 200
SERVER_FUSION_BATCH_S = 0.000001


def server_fusion_settings() -> FusionSettings:
    """The fusion settings a server runs with when its settings file says nothing of them:
    `tessera fuse` makes the picture the live server would make of the same journal."""
    return FusionSettings(lineage_window=SERVER_LINEAGE_WINDOW, batch_seconds=SERVER_FUSION_BATCH_S)


def fuse_file(
    source: Path,
    target: Path,
    every: float,
    *,
    settings: FusionSettings | None = None,
    scheme: ClassificationScheme | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    on_out_of_order: Callable[[str], None] | None = None,
) -> FuseResult:
    """``on_out_of_order``: None refuses a report received before the line above it
    (FuseInputError naming the line); otherwise it is told the same message, and the
    report joins the micro-batch being gathered, as the live server would take it."""
    if not every > 0:
        raise ValueError("--every must be greater than zero")
    settings = settings or server_fusion_settings()
    # A snapshot must fall where micro-batches end, or it would miss part of one.
    multiple = every / settings.batch_seconds
    if not math.isclose(multiple, round(multiple), rel_tol=1e-9) or round(multiple) < 1:
        raise ValueError(
            f"--every ({every:g} s) must be a whole multiple of --batch "
            f"({settings.batch_seconds:g} s)"
        )
    tracker = KalmanTracker(scheme or ClassificationScheme(), settings)
    started = time.perf_counter()
    reports = snapshots = 0
    engine_seconds = 0.0
    clock = time.perf_counter
    next_at: float | None = None
    try:
        reader = source.open("rb")
    except OSError as exc:
        raise FuseInputError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        output = target.open("wb", buffering=0)
    except OSError as exc:
        reader.close()
        raise PictureWriteError(f"{target}: cannot write: {exc.strerror or exc}") from None
    with reader, output as out:
        writer = SnapshotWriter(tracker, out)

        def write_snapshot(at: float) -> None:
            nonlocal snapshots, engine_seconds
            began = clock()
            tracker.flush(at)
            engine_seconds += clock() - began
            writer.write(at)
            snapshots += 1

        try:
            latest = -math.inf
            latest_line = 0
            for number, report in read_reports(source, reader):
                received = (report.received_at or report.observed_at).timestamp()
                if received < latest:
                    message = _out_of_order(source, number, report, latest_line, latest)
                    if on_out_of_order is None:
                        raise FuseInputError(message)
                    on_out_of_order(message)
                else:
                    latest, latest_line = received, number
                if next_at is None:
                    next_at = math.ceil(received / every) * every
                while received > next_at:
                    write_snapshot(next_at)
                    next_at += every
                began = clock()
                tracker.feed((report,))
                engine_seconds += clock() - began
                reports += 1
                if progress is not None and reports % PROGRESS_EVERY == 0:
                    progress(reports, snapshots, time.perf_counter() - started)
            if next_at is not None:
                write_snapshot(next_at)
        finally:
            writer.finish()
    elapsed = time.perf_counter() - started
    return FuseResult(reports, snapshots, elapsed, engine_seconds, tracker.stats)


def _out_of_order(source: Path, number: int, report: Report, before: int, at: float) -> str:
    received = report.received_at or report.observed_at
    stamp = iso(received.timestamp())
    return (
        f"{source}, line {number}: received_at {stamp} is earlier than line {before}'s "
        f"{iso(at)}; a journal is in received order (sort the file by received_at, or "
        "pass --out-of-order warn to fuse such reports with the micro-batch being gathered)"
    )


def terminal_progress() -> Callable[[int, int, float], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(reports: int, snapshots: int, seconds: float) -> None:
        rate = reports / max(seconds, 1e-9)
        line = f"\rfused {reports:,} reports, {snapshots:,} snapshots ({rate:,.0f} reports/s)"
        print(line, end="", file=sys.stderr, flush=True)

    return show

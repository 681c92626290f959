"""Command-line face of batch fusion: ``tessera fuse``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from tessera.arguments import positive
from tessera.batchfuse.picture import PictureWriteError
from tessera.batchfuse.run import (
    FuseInputError,
    fuse_file,
    server_fusion_settings,
    terminal_progress,
)
from tessera.core.fusion.engine import FusionSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="source", type=Path, required=True, help="reports.jsonl")
    parser.add_argument("--out", dest="target", type=Path, required=True, help="picture.jsonl")
    parser.add_argument(
        "--every", type=positive, default=10.0, help="seconds between snapshots (default 10)"
    )
    parser.add_argument(
        "--batch",
        type=positive,
        default=None,
        help="micro-batch window of received time, seconds; --every must be a whole "
        "multiple of it (default: the server's fusion_batch_s, one microsecond, so each "
        "received time is a micro-batch of its own, as each commit is on the server)",
    )
    parser.add_argument(
        "--out-of-order",
        choices=("refuse", "warn"),
        default="refuse",
        help="a report received before the line above it: refuse the file, naming the line "
        "(default), or warn and fuse it with the micro-batch being gathered",
    )


def _settings(batch: float | None) -> FusionSettings:
    defaults = server_fusion_settings()
    return defaults if batch is None else msgspec.structs.replace(defaults, batch_seconds=batch)


# Warnings printed one by one before only their count is given.
SHOWN_WARNINGS = 10


def run(args: argparse.Namespace) -> int:
    progress = terminal_progress()
    warned = 0

    def warn(message: str) -> None:
        nonlocal warned
        warned += 1
        if warned <= SHOWN_WARNINGS:
            print(f"tessera fuse: warning: {message}", file=sys.stderr)

    try:
        result = fuse_file(
            args.source,
            args.target,
            args.every,
            settings=_settings(args.batch),
            progress=progress,
            on_out_of_order=warn if args.out_of_order == "warn" else None,
        )
    except (FuseInputError, PictureWriteError) as exc:
        if progress is not None:
            print(file=sys.stderr)
        print(f"tessera fuse: {exc}", file=sys.stderr)
        return 2
    if progress is not None:
        print(file=sys.stderr)
    if warned:
        print(f"tessera fuse: {warned:,} reports out of received order", file=sys.stderr)
    rate = result.reports / max(result.seconds, 1e-9)
    stats = result.stats
    print(
        f"fused {result.reports:,} reports into {result.snapshots:,} snapshots "
        f"in {result.seconds:.1f} s ({rate:,.0f} reports/s; the engine alone "
        f"{result.reports / max(result.engine_seconds, 1e-9):,.0f} reports/s); "
        f"initiated {stats.initiated:,}, late updates {stats.late_updates:,}, "
        f"late confirmations {stats.late_confirmations:,}, too old {stats.too_old:,}",
        file=sys.stderr,
    )
    return 0

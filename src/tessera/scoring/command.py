"""`tessera score`: score a recorded picture against the simulator's ground truth."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from tessera.scoring.files import ScoreInputError
from tessera.scoring.metrics import OverallScore, Score, SnapshotScore, score_files

TABLE_HEADER = ("time", "gospa", "loc", "missed", "false", "truths", "tracks", "purity", "id-acc")
TABLE_WIDTHS = (20, 9, 12, 6, 6, 6, 6, 6, 6)
NOTHING = "-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--truth", metavar="PATH", type=Path, required=True, help="truth.jsonl from the simulator"
    )
    parser.add_argument(
        "--picture", metavar="PATH", type=Path, required=True, help="recorded picture.jsonl"
    )
    parser.add_argument(
        "--sources",
        metavar="PATH",
        type=Path,
        default=None,
        help="sources.jsonl (default: next to the truth file)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--quiet-snapshots", action="store_true", help="print only the overall score"
    )


def run(args: argparse.Namespace) -> int:
    try:
        result = score_files(args.truth, args.picture, args.sources)
    except ScoreInputError as exc:
        print(f"tessera score: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(render_json(result, with_snapshots=not args.quiet_snapshots))
    else:
        if not args.quiet_snapshots:
            print(render_table(result.snapshots))
            print()
        print(render_overall(result.overall))
    return 0


def render_json(result: Score, *, with_snapshots: bool) -> str:
    document: dict[str, object] = {"overall": result.overall}
    if with_snapshots:
        document["snapshots"] = result.snapshots
    return msgspec.json.encode(document).decode()


def render_table(snapshots: tuple[SnapshotScore, ...]) -> str:
    rows = [TABLE_HEADER] + [
        (
            _time(s.time),
            f"{s.gospa:.1f}",
            f"{s.localisation:.0f}",
            str(s.missed),
            str(s.false),
            str(s.truths),
            str(s.tracks),
            _share(s.purity),
            _share(s.identity_accuracy),
        )
        for s in snapshots
    ]
    lines = [
        "  ".join(
            # The time column reads best left-aligned, the numbers right-aligned.
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, TABLE_WIDTHS, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def render_overall(overall: OverallScore) -> str:
    confirm = _number(overall.mean_time_to_confirm_s, "s")
    lines = [
        f"overall: {overall.snapshots} snapshots scored, {overall.skipped} picture snapshots "
        "skipped (no truth at their time)",
        f"  gospa             {_number(overall.mean_gospa, 'm')} (mean)",
        f"  localisation      {_number(overall.mean_localisation, 'm^2')} (mean)",
        f"  missed part       {_number(overall.mean_missed_part, 'm^2')} (mean),"
        f" {_number(overall.mean_missed)} truths missed per snapshot",
        f"  false part        {_number(overall.mean_false_part, 'm^2')} (mean),"
        f" {_number(overall.mean_false)} false tracks per snapshot",
        f"  purity            {_share(overall.mean_purity)} (mean)",
        f"  identity          {_share(overall.identity_accuracy)} correct of"
        f" {overall.identity_matched} matched pairs",
        f"  identity switches {overall.identity_switches}",
        f"  time to confirm   {confirm} (mean over {overall.confirmed_truths} truths),"
        f" {overall.never_confirmed} never confirmed",
    ]
    return "\n".join(lines)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _share(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.2f}"


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return NOTHING
    return f"{value:,.1f} {unit}".rstrip()

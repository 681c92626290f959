"""`tessera import FILE`: send an NVG, KML, KMZ or CoT file to a running server's
``POST /api/v1/imports`` and say what it took and what it skipped, and why.

The label applies to everything in the file: ``--label CLASSIFICATION`` or
``--label CLASSIFICATION:COMMUNITY,COMMUNITY`` (releasable to those communities); left
out, the file's own security marking applies, else the sender's default label. The server
refuses a file marked above the label given; what it says is printed, and so is which
label was used and why. ``--source ID`` makes every report of the file that source's (one
the sender may report as). ``--valid-for DURATION`` or ``--valid-until TIME`` says how
long the file's reports hold (the picture keeps them, with the identity they state, until
then); left out, as the file says, else the server's default (24 h). The token comes from a
file or the environment, never the command line, and is never printed. Importing the same
file twice stores nothing twice, so a failed import can simply be run again.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import httpx

from tessera.core.durations import parse_duration
from tessera.sim.commands import TOKEN_VARIABLE, read_token

FORMATS: Final = ("nvg", "kml", "kmz", "cot")
DEFAULT_URL: Final = "http://127.0.0.1:8080"
MAX_FILE_BYTES: Final = 32 * 1024 * 1024
SKIPPED_SHOWN: Final = 20
# Why the server used the label it did.
LABEL_REASONS: Final = {
    "given": "given",
    "marking": "the file's own marking",
    "default": "your default label",
}


class ImportRefusedError(Exception):
    """The server refused the file or could not be reached: said plainly."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the NVG, KML, KMZ or CoT file")
    parser.add_argument(
        "--to", metavar="URL", default=DEFAULT_URL, help=f"the server (default {DEFAULT_URL})"
    )
    parser.add_argument(
        "--label",
        default=None,
        metavar="LEVEL[:COMMUNITY,...]",
        help=(
            "label for everything in the file, e.g. SECRET:NATO,UKR "
            "(default: the file's own marking, else the sender's default label)"
        ),
    )
    parser.add_argument(
        "--format", choices=FORMATS, default=None, help="file format (default: from the file)"
    )
    parser.add_argument(
        "--source",
        default=None,
        metavar="ID",
        help="the source every report comes from (default: the one the file names)",
    )
    held = parser.add_mutually_exclusive_group()
    held.add_argument(
        "--valid-for",
        type=_duration,
        default=None,
        metavar="DURATION",
        help="every report holds this long from now: 900, 30m, 12h, 2d (at most 7d)",
    )
    held.add_argument(
        "--valid-until",
        type=_time,
        default=None,
        metavar="TIME",
        help="every report holds until then, e.g. 2026-05-05T18:00:00Z (within 7 days)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help=f"file holding a reporter's bearer token (else ${TOKEN_VARIABLE})",
    )


def _duration(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def _time(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError("an ISO 8601 time with its zone, e.g. 2026-05-05T18:00Z")
    return moment.isoformat()


def run(args: argparse.Namespace) -> int:
    token = read_token(args.token_file, purpose="importing needs a reporter's")
    data = _read(args.file)
    try:
        summary = send(
            args.to,
            token,
            data,
            label=args.label,
            file_format=args.format,
            source=args.source,
            valid_for=args.valid_for,
            valid_until=args.valid_until,
        )
    except ImportRefusedError as exc:
        print(f"tessera import: {exc}", file=sys.stderr)
        return 1
    print(describe(summary, args.file))
    return 0


def label_params(label: str | None) -> dict[str, str]:
    """``LEVEL`` or ``LEVEL:COMMUNITY,COMMUNITY`` as the endpoint's query parameters."""
    if label is None:
        return {}
    level, _, communities = label.partition(":")
    if not level.strip():
        raise ValueError("--label: give a classification, e.g. SECRET or SECRET:NATO,UKR")
    params = {"classification": level.strip()}
    if communities.strip():
        params["releasable_to"] = communities.strip()
    return params


def send(
    url: str,
    token: str,
    data: bytes,
    *,
    label: str | None,
    file_format: str | None,
    source: str | None = None,
    valid_for: str | None = None,
    valid_until: str | None = None,
) -> dict[str, Any]:
    params = label_params(label)
    if file_format is not None:
        params["format"] = file_format
    if source is not None:
        params["source"] = source
    if valid_for is not None:
        params["valid_for"] = valid_for
    if valid_until is not None:
        params["valid_until"] = valid_until
    headers = {"authorization": f"Bearer {token}", "content-type": "application/octet-stream"}
    endpoint = url.rstrip("/") + "/api/v1/imports"
    try:
        response = httpx.post(
            endpoint,
            params=params,
            content=data,
            headers=headers,
            timeout=httpx.Timeout(300.0, connect=10.0),
        )
    except httpx.HTTPError as exc:
        # httpx's messages name the URL, never the headers: the token stays out.
        raise ImportRefusedError(f"cannot reach {url}: {exc}") from None
    if response.status_code not in (200, 201):
        raise ImportRefusedError(_refusal(response))
    summary: dict[str, Any] = response.json()
    return summary


def describe(summary: dict[str, Any], path: Path) -> str:
    skipped: list[dict[str, Any]] = summary.get("skipped", [])
    lines = [
        f"imported {path.name} ({summary['format']}): {summary['reports']} reports, "
        f"{summary['overlays']} overlays, {len(skipped)} skipped"
    ]
    if "label_from" in summary:
        lines.append(f"  {_labelled(summary)}")
    if summary.get("reports"):
        lines.append(f"  {_held(summary.get('held') or {})}")
    for item in skipped[:SKIPPED_SHOWN]:
        where = f"line {item['line']}" if item.get("line") is not None else "?"
        lines.append(f"  skipped <{item['element']}> at {where}: {item['reason']}")
    if len(skipped) > SKIPPED_SHOWN:
        lines.append(f"  ... and {len(skipped) - SKIPPED_SHOWN} more")
    return "\n".join(lines)


def _labelled(summary: dict[str, Any]) -> str:
    label = summary.get("label")
    reason = LABEL_REASONS.get(summary["label_from"], summary["label_from"])
    if label is None:
        said = "labelled by each item's own marking"
    else:
        communities = ",".join(label.get("releasable_to") or ())
        said = f"labelled {label['classification']}{':' if communities else ''}{communities}"
        said += f" ({reason})"
    own = summary.get("own_marking") or 0
    if own:
        said += f"; {own} labelled by their own marking"
    return said


def _held(held: dict[str, int]) -> str:
    said = [
        f"{held[why]} {what}"
        for why, what in (
            ("given", "until the time given"),
            ("file", "as the file says"),
            ("default", "for the server's default"),
        )
        if held.get(why)
    ]
    return "held on the picture: " + (", ".join(said) or "none")


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{path} is larger than {MAX_FILE_BYTES:,} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None


def _refusal(response: httpx.Response) -> str:
    status = response.status_code
    if status == 401:
        return "the server refused the token (401): unknown, expired or revoked"
    try:
        body = response.json()
    except ValueError:
        body = {}
    said = str(body.get("detail") or body.get("error") or "")
    if status == 403:
        return f"refused (403): {said or 'this token may not import (reporter or operator)'}"
    return f"the server answered {status}" + (f": {said}" if said else "")

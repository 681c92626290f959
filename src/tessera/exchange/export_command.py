"""`tessera export`: download a picture the caller may read, from a running server's
``GET /api/v1/export``, as an NVG, GeoJSON, KML or KMZ file: live tracks (every status
but dead) unless ``--status`` names the statuses wanted. With ``--from T1 --to T2``, a
time window of the picture for after-action review: KML with each track's ``gx:Track``
and ``TimeSpan``, a GeoPackage with time fields, or (``csv``) the window's alerts and
their acknowledgements (the server is then ``--server``).

The token comes from a file or the environment, never the command line, and is never
printed. The file is written beside its destination and renamed into place, so an
interrupted download never leaves half a file under the real name.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from pathlib import Path
from typing import Final

import httpx

from tessera.sim.commands import TOKEN_VARIABLE, read_token

# The formats GET /api/v1/export serves (tessera.transports.web.export.FORMATS; kept here
# so the command starts without loading the web stack, and a test keeps them the same).
FORMATS: Final = ("nvg", "geojson", "kml", "kmz")
# Formats of a time window alone (--from, --to; kml too, as gx:Track).
WINDOW_ONLY_FORMATS: Final = ("gpkg", "csv")
# Track statuses (tessera.core.model.TrackStatus, kept here for the same reason).
STATUSES: Final = ("tentative", "confirmed", "coasting", "dead")
DEFAULT_URL: Final = "http://127.0.0.1:8080"
_FILENAME: Final = re.compile(r'filename="([^"]*)"')
# Anything but these, in a name the server suggests, becomes "_": no paths, no surprises.
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")


class ExportError(Exception):
    """The server refused or could not be reached: said plainly, without the token."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server", metavar="URL", default=None, help=f"the server (default {DEFAULT_URL})"
    )
    parser.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        default=None,
        help="after-action export: the picture from this ISO 8601 time to --to's, each "
        "track's path with its times (kml as gx:Track, or gpkg), or its alerts (csv)",
    )
    parser.add_argument(
        "--to",
        metavar="TIME|URL",
        default=None,
        help="with --from, the window's end; without, the server (as --server)",
    )
    parser.add_argument("--picture", required=True, help="the picture to export")
    parser.add_argument(
        "--format", choices=FORMATS + WINDOW_ONLY_FORMATS, required=True, help="file format"
    )
    parser.add_argument(
        "--status",
        type=statuses,
        default=None,
        metavar="STATUS,...",
        help=f"track statuses to export, of {', '.join(STATUSES)} (default: all but dead)",
    )
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="where to write (default: the server's file name, in the current folder)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help=f"file holding a viewer's bearer token (else ${TOKEN_VARIABLE})",
    )


def statuses(text: str) -> str:
    """``--status``: known statuses, comma-separated, at least one (a usage error else)."""
    named = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in named if part not in STATUSES]
    if unknown or not named:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give one or more of {', '.join(STATUSES)}, separated by commas"
        )
    return ",".join(named)


def run(args: argparse.Namespace) -> int:
    try:
        server, window = _server_and_window(args)
    except ExportError as exc:
        print(f"tessera export: {exc}", file=sys.stderr)
        return 2
    token = viewer_token(args.token_file)
    try:
        path, size = export(
            server,
            token,
            picture=args.picture,
            kind=args.format,
            out=args.out,
            status=args.status,
            window=window,
        )
    except ExportError as exc:
        print(f"tessera export: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {size:,} bytes to {path}")
    return 0


def _server_and_window(args: argparse.Namespace) -> tuple[str, tuple[str, str] | None]:
    """The server's URL and the time window asked for (None: the picture now)."""
    if args.start is None:
        if args.format in WINDOW_ONLY_FORMATS:
            raise ExportError(f"{args.format} exports a time window: give --from and --to")
        return args.server or args.to or DEFAULT_URL, None
    if args.to is None or args.to.startswith(("http://", "https://")):
        raise ExportError("with --from, --to is the window's end (the server is --server)")
    if args.format not in ("kml", *WINDOW_ONLY_FORMATS):
        raise ExportError("a time window exports as kml, gpkg or csv (its alerts)")
    return args.server or DEFAULT_URL, (args.start, args.to)


def viewer_token(path: Path | None) -> str:
    return read_token(path, purpose="exporting needs a viewer's")


def export(
    url: str,
    token: str,
    *,
    picture: str,
    kind: str,
    out: Path | None,
    status: str | None = None,
    window: tuple[str, str] | None = None,
) -> tuple[Path, int]:
    """Download ``picture`` as ``kind`` into ``out`` (else the server's suggested name in
    the current folder): the path written and its size in bytes. ``status``: the track
    statuses wanted, comma-separated (else the server's default, all but dead)."""
    endpoint = url.rstrip("/") + "/api/v1/export"
    headers = {"authorization": f"Bearer {token}"}
    params = {"picture": picture, "format": kind}
    if status is not None:
        params["status"] = status
    if window is not None:
        params["from"], params["to"] = window
    timeout = httpx.Timeout(120.0, connect=10.0)
    try:
        with (
            httpx.Client(headers=headers, timeout=timeout) as client,
            client.stream("GET", endpoint, params=params) as response,
        ):
            if response.status_code != 200:
                response.read()
                raise ExportError(_refusal(response, picture))
            target = out or Path(_suggested_name(response, picture, kind))
            return target, _save(response, target)
    except httpx.HTTPError as exc:
        # httpx's messages name the URL, never the headers: the token stays out.
        raise ExportError(f"cannot export from {url}: {exc}") from None


def _refusal(response: httpx.Response, picture: str) -> str:
    status = response.status_code
    if status == 401:
        return "the server refused the token (401): unknown, expired or revoked"
    if status == 403:
        return "this token may not read pictures (403): its principal needs the viewer role"
    if status == 404:
        return f"no picture {picture!r} that this token may read (404)"
    try:
        said = str(response.json().get("error", ""))
    except (ValueError, AttributeError):
        said = ""
    return f"the server answered {status}" + (f": {said}" if said else "")


def _suggested_name(response: httpx.Response, picture: str, kind: str) -> str:
    """The server's file name, reduced to a plain name in the current folder."""
    found = _FILENAME.search(response.headers.get("content-disposition", ""))
    name = found.group(1) if found else f"{picture}.{kind}"
    name = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return name or f"export.{kind}"


def _save(response: httpx.Response, target: Path) -> int:
    partial = target.with_name(f".{target.name}.part")
    size = 0
    try:
        with partial.open("wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
                size += len(chunk)
        os.replace(partial, target)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return size

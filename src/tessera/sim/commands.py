"""`tessera simulate`: feed a server live, or write a scenario to files; and the live feed
that `tessera demo` runs beside its server."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import httpx

from tessera.arguments import positive
from tessera.sim.feeder import FeedError, FeedProgress, feed
from tessera.sim.files import stderr_progress, write_scenario
from tessera.sim.scenario import DEFAULT_START, SCENARIOS, ScenarioConfig, build

DEFAULT_FILE_DURATION_S = 600.0


TOKEN_VARIABLE: Final = "TESSERA_TOKEN"  # noqa: S105 (the variable's name, not a secret)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            "must be an RFC 3339 time, e.g. 2026-05-04T09:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("must carry a zone, e.g. Z")
    return moment.astimezone(UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="URL", help="feed the server at URL live")
    target.add_argument("--out", metavar="DIR", type=Path, help="write reports and truth to DIR")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="exercise")
    parser.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    parser.add_argument("--rate", type=positive, default=200.0, help="reports per second")
    parser.add_argument(
        "--duration",
        type=positive,
        default=None,
        help="seconds (live: until Ctrl-C; files: 600)",
    )
    parser.add_argument(
        "--start", type=_moment, default=None, help="scenario start time for --out (RFC 3339)"
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help=f"file holding the bearer token for --to (else ${TOKEN_VARIABLE})",
    )


def read_token(path: Path | None, *, purpose: str = "feeding a server needs a reporter's") -> str:
    """The bearer token from a file or the environment: never from the command line,
    where every user of the machine could read it. ``purpose`` words the error when
    there is none."""
    if path is not None:
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the token file {path}: {exc.strerror}") from None
    else:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise ValueError(
            f"{purpose} token: --token-file FILE or ${TOKEN_VARIABLE}"
            " (tessera users token NAME prints one)"
        )
    return token


def terminal_progress() -> Callable[[FeedProgress], None]:
    """A progress line on stderr, rewritten at most once a second."""
    shown = 0.0

    def show(progress: FeedProgress) -> None:
        nonlocal shown
        if time.monotonic() - shown < 1.0:
            return
        shown = time.monotonic()
        line = f"\rsent {progress.sent:,} reports, {progress.rate:,.0f}/s, errors {progress.errors}"
        if progress.retries:
            line += f", retries {progress.retries}"
        print(line, end="", file=sys.stderr, flush=True)

    return show


async def feed_live(
    url: str,
    *,
    scenario: str,
    seed: int,
    rate: float,
    duration: float | None,
    on_progress: Callable[[FeedProgress], None] | None,
    token: str,
) -> FeedProgress:
    """Run the scenario against the server at ``url`` in real time, starting now."""
    start = datetime.now(UTC).replace(microsecond=0)
    exercise = build(scenario, ScenarioConfig(seed=seed, rate=rate, start=start))
    until = None if duration is None else start + timedelta(seconds=duration)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=30, headers=headers) as client:
        return await feed(
            client, exercise.sightings(duration), until=until, on_progress=on_progress
        )


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        duration = args.duration or DEFAULT_FILE_DURATION_S
        config = ScenarioConfig(seed=args.seed, rate=args.rate, start=args.start or DEFAULT_START)
        written = write_scenario(
            build(args.scenario, config), args.out, duration, progress=stderr_progress()
        )
        print(
            f"\nwrote {written.reports:,} reports and {written.snapshots} truth snapshots "
            f"to {args.out}",
            file=sys.stderr,
        )
        return 0
    token = read_token(args.token_file)
    try:
        progress = asyncio.run(
            feed_live(
                args.to,
                scenario=args.scenario,
                seed=args.seed,
                rate=args.rate,
                duration=args.duration,
                on_progress=terminal_progress(),
                token=token,
            )
        )
    except FeedError as exc:
        print(f"\ntessera simulate: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130
    print(f"\nsent {progress.sent:,} reports, errors {progress.errors}", file=sys.stderr)
    return 0 if progress.errors == 0 else 1

"""Restarting the embedded default on a long journal: from its fusion checkpoint against a
full replay, side by side in the same run.

A journal of 300,000 reports (1,000 objects reported once a second for 300 s, 60 % units
reporting themselves, 40 % anonymous drone detections, as ``benchmarks/fusion.py``; each
second's reports stamped at the second they were received) is appended straight into a
SQLite journal; one in-process run replays it and stops cleanly, which saves the fusion
checkpoint. Each measured run copies that data folder, appends a tail of 10,000 more
reports (10 s of the same objects), and starts ``tessera serve`` on it (loopback, port 0):

- (a) full replay, today's behaviour without a checkpoint: the checkpoint file removed;
- (b) restart from the checkpoint plus the tail.

Each is timed from the process's start to the first 200 on ``GET /api/v1/health`` (polled
every 20 ms) and to its ``fusion caught up`` line. Medians over ``--repeats`` runs.

``python benchmarks/embedded_restart.py [--repeats N] [--quick] [--write]``; ``--write``
puts the figures in BENCHMARKS.md (its own section; ``benchmarks/run.py`` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, moving_batches, write_section  # noqa: E402
from tessera.app import build  # noqa: E402
from tessera.journal.sqlite import SqliteJournal  # noqa: E402
from tessera.security.tls import ensure_deployment  # noqa: E402
from tessera.settings import load_settings  # noqa: E402
from tessera.store.sqlite_checkpoints import checkpoint_path  # noqa: E402

OBJECTS: Final = 1_000
JOURNAL_SECONDS: Final = 300
TAIL_SECONDS: Final = 10
JOURNAL_FILE: Final = "journal.sqlite3"
# Every wait is bounded: a server that neither answers nor catches up in this long fails.
SERVER_DEADLINE_S: Final = 900.0
POLL_S: Final = 0.02
SECTION: Final = "## Embedded restart"


class Sizes(msgspec.Struct, frozen=True):
    seconds: int
    tail_seconds: int
    objects: int = OBJECTS

    @property
    def reports(self) -> int:
        return self.seconds * self.objects

    @property
    def tail(self) -> int:
        return self.tail_seconds * self.objects


FULL: Final = Sizes(JOURNAL_SECONDS, TAIL_SECONDS)
QUICK: Final = Sizes(20, 5, objects=200)


class Timing(msgspec.Struct, frozen=True):
    """Seconds from the process's start: to HTTP answering, to fusion caught up; and
    what health said in its first answer."""

    http_s: float
    caught_up_s: float
    first_fusion: str


async def append_seconds(data: Path, sizes: Sizes, seconds: int, *, seed: int, prefix: str) -> int:
    """Append ``seconds`` seconds of reports ending now, each second's batch received at
    its second (half a second after it was observed); the journal's last seq."""
    start = datetime.now(UTC) - timedelta(seconds=seconds + 1)
    batches = moving_batches(sizes.objects, seconds, seed=seed, start=start, prefix=prefix)
    received = [start]
    # No ticks: the journal holds the reports alone.
    journal = SqliteJournal(data / JOURNAL_FILE, clock=lambda: received[0], tick_interval=3600)
    await journal.open()
    try:
        for second, batch in enumerate(batches):
            received[0] = start + timedelta(seconds=second + 0.5)
            await journal.append(batch)
        return journal.last_seq
    finally:
        await journal.close()


async def checkpointed_journal(data: Path, sizes: Sizes) -> int:
    """A data folder with ``sizes.reports`` reports journaled and a checkpoint covering
    them (one full replay in this process, then a clean stop); the journal's last seq."""
    await append_seconds(data, sizes, sizes.seconds, seed=11, prefix="base")
    # The deployment's certificates made now, as a first start would: not timed later.
    ensure_deployment(data, ("127.0.0.1",))
    tessera = build(load_settings(data_dir=data, tick_interval_s=3600))
    await tessera.start()
    position = tessera.worker.position
    await tessera.stop()
    return position


def copy_folder(source: Path, target: Path, *, checkpoint: bool) -> None:
    shutil.copytree(source, target)
    if not checkpoint:
        checkpoint_path(target).unlink()


def serve_timed(data: Path, *, source: Path | None = None) -> Timing:
    """``tessera serve`` on ``data`` (the code under ``source``, else this checkout's): the
    time to the first 200 on health and to ``fusion caught up``; stopped cleanly
    afterwards. Code that replays before it listens prints no such line: caught up is
    then when it answers."""
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = str(source)
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "tessera.cli", "serve", "--data", str(data),
            "--http-port", "0", "--cot-tls-port", "0",
            "--tak-enrollment-port", "0", "--log-level", "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("listening http "):
            raise RuntimeError(f"server did not start: {line!r}")
        url = "http://" + line.removeprefix("listening http ") + "/api/v1/health"
        first = _first_health(url, started)
        http_s = time.perf_counter() - started
        if first == "None":  # no fusion in health: it replayed before listening
            return Timing(http_s, http_s, first)
        while (line := process.stdout.readline()) and line.strip() != "fusion caught up":
            if time.perf_counter() - started > SERVER_DEADLINE_S:
                raise RuntimeError("fusion did not catch up in time")
        if not line:
            raise RuntimeError("the server stopped before fusion caught up")
        caught_up_s = time.perf_counter() - started
        return Timing(http_s, caught_up_s, first)
    finally:
        process.terminate()
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _first_health(url: str, started: float) -> str:
    """Poll until health answers 200; what it said of fusion."""
    with httpx.Client(timeout=5) as client:
        while time.perf_counter() - started < SERVER_DEADLINE_S:
            try:
                answer = client.get(url)
            except httpx.TransportError:
                time.sleep(POLL_S)
                continue
            if answer.status_code == 200:
                return str(answer.json().get("fusion"))
            time.sleep(POLL_S)
    raise RuntimeError("the server did not answer in time")


class Variant(msgspec.Struct, frozen=True):
    key: str
    title: str
    checkpoint: bool
    source: Path | None = None


def variants(baseline: Path | None) -> list[Variant]:
    found = [
        Variant("full", "(a) no checkpoint: full replay in the background", checkpoint=False),
        Variant("restart", "(b) checkpoint + tail in the background", checkpoint=True),
    ]
    if baseline is not None:
        title = "(a0) full replay, then listening (before checkpoints)"
        found.insert(0, Variant("before", title, checkpoint=False, source=baseline))
    return found


def measure(
    sizes: Sizes, repeats: int, work: Path, baseline: Path | None = None
) -> dict[str, float]:
    base = work / "base"
    base.mkdir()
    built = time.perf_counter()
    asyncio.run(checkpointed_journal(base, sizes))
    print(f"journal and checkpoint built in {time.perf_counter() - built:.0f} s", file=sys.stderr)
    chosen = variants(baseline)
    timings: dict[str, list[Timing]] = {variant.key: [] for variant in chosen}
    for attempt in range(1, repeats + 1):
        for variant in chosen:
            folder = work / f"run-{attempt}-{variant.key}"
            copy_folder(base, folder, checkpoint=variant.checkpoint)
            tail = f"tail{attempt}"
            asyncio.run(
                append_seconds(folder, sizes, sizes.tail_seconds, seed=attempt, prefix=tail)
            )
            timing = serve_timed(folder, source=variant.source)
            timings[variant.key].append(timing)
            shutil.rmtree(folder)
            print(
                f"[{attempt}/{repeats}] {variant.title}: HTTP {timing.http_s:.2f} s "
                f"({timing.first_fusion}), caught up {timing.caught_up_s:.2f} s",
                file=sys.stderr,
                flush=True,
            )
    figures = {
        "reports": float(sizes.reports),
        "tail": float(sizes.tail),
        "objects": float(sizes.objects),
        "seconds": float(sizes.seconds),
        "runs": float(repeats),
        "restart_first_catching_up": float(
            sum(t.first_fusion == "catching_up" for t in timings["restart"])
        ),
    }
    for key, runs in timings.items():
        figures[f"{key}_http_s"] = statistics.median(t.http_s for t in runs)
        figures[f"{key}_caught_up_s"] = statistics.median(t.caught_up_s for t in runs)
    return figures


def markdown(figures: dict[str, float], command: str, when: str, machine: str) -> str:
    runs = int(figures["runs"])
    tail = f"{figures['tail']:,.0f}"
    rows = []
    for variant in variants(Path() if "before_http_s" in figures else None):
        http, caught = figures[f"{variant.key}_http_s"], figures[f"{variant.key}_caught_up_s"]
        title = variant.title.replace("tail", f"{tail}-report tail")
        rows.append(f"| {title} | {http:.2f} s | {caught:.2f} s |")
    for key, name in (("before", "a0"), ("full", "a")):
        if f"{key}_http_s" in figures:
            http = figures[f"{key}_http_s"] / figures["restart_http_s"]
            caught = figures[f"{key}_caught_up_s"] / figures["restart_caught_up_s"]
            rows.append(f"| ratio ({name}) / (b) | {http:.1f}x | {caught:.1f}x |")
    table = "\n".join(rows)
    reports = f"{figures['reports']:,.0f}"
    return f"""{SECTION}

`{command}`, {when}, medians of {runs} runs, on {machine}.

A journal of {reports} reports ({figures["objects"]:,.0f} objects reported once a second
for {figures["seconds"]:.0f} s: 60 % unit self-reports, 40 % drone detections) plus a tail
of {tail} more, served by `tessera serve` on loopback (port 0). Timed from the process's
start to the first 200 on `GET /api/v1/health` (polled every 20 ms) and to its `fusion
caught up` line:

- (a0), with `--baseline-src`: the code from before checkpoints on the embedded default,
  which replays the whole journal and only then listens;
- (a): no checkpoint (the file removed): the whole journal replayed in the background;
- (b): the checkpoint saved at the journal's first {reports} reports restored, the tail
  replayed in the background (the first health answer said `catching_up` in
  {figures["restart_first_catching_up"]:.0f} of {runs} runs).

| start | HTTP answers | fusion caught up |
|---|---:|---:|
{table}

Target: HTTP answers within 5 s of the process's start after a long journal.
"""


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--repeats", type=int, default=3)
    options.add_argument("--quick", action="store_true", help="a small run, well under a minute")
    options.add_argument("--write", action="store_true", help="write BENCHMARKS.md's section")
    options.add_argument(
        "--baseline-src",
        type=Path,
        help="also time (a0): the src folder of a checkout from before checkpoints",
    )
    args = options.parse_args(argv)
    if args.repeats < 1:
        options.error("--repeats must be at least 1")
    sizes = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tessera-restart-") as work:
        figures = measure(sizes, args.repeats, Path(work), args.baseline_src)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/embedded_restart.py" + (
        f" --repeats {args.repeats}" if args.repeats != 3 else ""
    )
    if args.baseline_src is not None:
        command += " --baseline-src SRC"
    text = markdown(figures, command, when, machine())
    print(text)
    if args.write and not args.quick:
        write_section(ROOT / "BENCHMARKS.md", SECTION, text, before="## Fusion")
        print("wrote BENCHMARKS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The demo's memory over time: the resident memory (``/proc/PID/status`` VmRSS) of a
``tessera demo`` process (the embedded default serving, the live exercise feeding it)
sampled once a minute, and its slope over the last minutes.

The exercise runs in real time: the server stamps each report's receipt with its own
clock, and fusion ages, coasts and drops tracks by that clock, so a feed sent faster
than the scenario's send times would be a different exercise (reports from the future,
tracks never ageing). Thirty minutes of it take thirty minutes.

Usage: python benchmarks/demo_memory.py [--minutes 30] [--every 60] [--slope-minutes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
PICTURE = "NATO-SECRET"


class Sample(msgspec.Struct, frozen=True):
    """One sample: minutes into the exercise, resident memory, and the NATO picture's
    change seq and tracks then (fusion keeping up, the picture not piling up)."""

    minute: float
    rss_mib: float
    seq: int
    tracks: int


class Run(msgspec.Struct, frozen=True):
    samples: list[Sample]
    sent: str
    slope_mib_per_min: float
    slope_minutes: float
    problems: list[str]


def rss_kib(pid: int) -> int:
    """A process's resident memory now (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of ``points`` (x, y); 0 for fewer than two x values."""
    if len({x for x, _ in points}) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def tail_slope(samples: Sequence[Sample], minutes: float) -> float:
    """MiB per minute over the samples of the last ``minutes`` minutes."""
    if not samples:
        return 0.0
    since = samples[-1].minute - minutes
    return slope([(s.minute, s.rss_mib) for s in samples if s.minute >= since - 1e-9])


class Demo(msgspec.Struct, frozen=True):
    pid: int
    url: str
    token: str


@contextlib.asynccontextmanager
async def demo_process(data: Path, log: Path) -> AsyncIterator[Demo]:
    """``tessera demo`` on ``data``, every port picked freely; its pid, URL and the NATO
    officer's token (for asking how far fusion is)."""
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tessera.cli", "demo", "--data", str(data),
            "--host", "127.0.0.1", "--http-port", "0", "--cot-tls-port", "0",
            "--tak-enrollment-port", "0",
            "--log-level", "warning",
            stdout=asyncio.subprocess.PIPE, stderr=errors,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            url = token = ""
            async with asyncio.timeout(STARTUP_TIMEOUT_S):
                while not (url and token):
                    line = (await process.stdout.readline()).decode().strip()
                    if not line:
                        raise RuntimeError(f"the demo did not start (see {log})")
                    if line.startswith("listening http "):
                        url = "http://" + line.removeprefix("listening http ")
                    elif line.startswith("login nato-officer "):
                        token = line.partition("#token=")[2]
            yield Demo(process.pid, url, token)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def problems_in(log: Path) -> list[str]:
    """What the demo's log says went wrong (its progress line rewritten with \\r aside)."""
    lines = log.read_text(errors="replace").replace("\r", "\n").splitlines()
    found = [line for line in lines if any(w in line for w in ("ERROR", "CRITICAL", "Traceback"))]
    sent = [line for line in lines if line.startswith("sent ")]
    # The progress line counts the reports the server refused.
    if sent and not sent[-1].rstrip().endswith("errors 0"):
        found.append(sent[-1])
    return found


def sent_line(log: Path) -> str:
    """The feed's last progress line: reports sent, their rate, errors."""
    lines = log.read_text(errors="replace").replace("\r", "\n").splitlines()
    return next((line for line in reversed(lines) if line.startswith("sent ")), "nothing sent")


async def measure(minutes: float, every_s: float, slope_minutes: float, log: Path) -> Run:
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="tessera-demo-memory-") as data:
        async with (
            demo_process(Path(data), log) as demo,
            httpx.AsyncClient(
                base_url=demo.url, headers={"authorization": f"Bearer {demo.token}"}, timeout=30
            ) as client,
        ):
            started = time.monotonic()
            count = int(minutes * 60 / every_s)
            for index in range(count + 1):
                # Sleep to the sample's due time, so the series keeps its step.
                await asyncio.sleep(max(0.0, started + index * every_s - time.monotonic()))
                rss = rss_kib(demo.pid) / 1024
                response = await client.get("/api/v1/tracks", params={"picture": PICTURE})
                response.raise_for_status()
                picture = response.json()
                sample = Sample(index * every_s / 60, rss, picture["seq"], picture["count"])
                samples.append(sample)
                print(
                    f"minute {sample.minute:5.1f}: {sample.rss_mib:7.1f} MiB, "
                    f"{PICTURE} change {sample.seq:,}, {sample.tracks:,} tracks",
                    flush=True,
                )
    return Run(
        samples, sent_line(log), tail_slope(samples, slope_minutes), slope_minutes, problems_in(log)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="exercise length")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument(
        "--slope-minutes", type=float, default=20.0, help="the slope is over these last minutes"
    )
    parser.add_argument("--log", type=Path, default=None, help="keep the demo's stderr here")
    args = parser.parse_args(argv)
    if not (args.minutes > 0 and args.every > 0 and args.slope_minutes > 0):
        parser.error("--minutes, --every and --slope-minutes must be greater than zero")
    with tempfile.TemporaryDirectory(prefix="tessera-demo-log-") as folder:
        log = args.log or Path(folder) / "demo.log"
        run = asyncio.run(measure(args.minutes, args.every, args.slope_minutes, log))
    first, last = run.samples[0], run.samples[-1]
    print(
        f"RSS {first.rss_mib:.1f} MiB at the start, {last.rss_mib:.1f} MiB after "
        f"{last.minute:g} minutes; slope over the last {run.slope_minutes:g} minutes: "
        f"{run.slope_mib_per_min:+.2f} MiB/min"
    )
    print(f"exercise feed: {run.sent}")
    for problem in run.problems:
        print(f"problem: {problem}")
    return 1 if run.problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""The web map's frame rate in headless Chromium while panning a large, busy picture.

`tessera serve` on the embedded default (a fresh data folder, loopback) is given
``--tracks`` objects (four in ten friendly, four hostile, two unknown), each reported under
its own subject; then, while the benchmark posts ``--rate`` position updates a second, the
page pans the map programmatically on every animation frame for ``--seconds`` and counts
the frames it was given (requestAnimationFrame). The ceiling, an empty WebGL canvas drawn
every frame, is measured once the map's page is closed, at each size: the map's own pan,
without updates, is measured at the ``--sizes`` too. Everything is bounded in time.

The map is first panned for ``--warmup`` seconds, so that what is measured is the map in
use (its tiles laid out, its images drawn), not the map opening; the warm-up's own rate is
written too. Every pan swings back and forth across the opening view, which shows all the
tracks.

Usage: python benchmarks/map_fps.py [--tracks 10000] [--rate 2000] [--seconds 10]
    [--size 1280x800] [--sizes 1280x720,1920x1080] [--warmup 10] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, ViewportSize, async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import Served, iso, server_process, write_section  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TICK_S = 0.05
BATCH = 1000
# The tracks fill a box the opening view of the benchmark shows whole.
SOUTH, WEST, ROWS_DEG, COLS_DEG = 51.5, 14.5, 3.0, 8.0
SECTION = "## Map frame rate"
FRIEND = ("friend", "10031000001211000000")
HOSTILE = ("hostile", "10061000001211000000")
UNKNOWN = ("unknown", "10011500001201000000")
# Of every ten objects: four friendly, four hostile, two unknown.
IDENTITIES = (FRIEND,) * 4 + (HOSTILE,) * 4 + (UNKNOWN,) * 2


def report(index: int, step: int, tracks: int, when: datetime) -> dict[str, Any]:
    """Object ``index``'s report number ``step``: on a grid, nudged a little each step."""
    side = max(1, int(tracks**0.5))
    row, col = divmod(index, side)
    identity, sidc = IDENTITIES[index % 10]
    return {
        "id": f"fps-{index}-{step}",
        "source": {"id": "fps-sensor", "kind": "sensor"},
        "subject": f"obj-{index}",
        "observed_at": iso(when),
        "position": {
            "lat": SOUTH + ROWS_DEG * row / side + step * 2e-5,
            "lon": WEST + COLS_DEG * col / side + step * 3e-5,
            "ce": 20.0,
        },
        "identity": identity,
        "sidc": sidc,
        "grading": "A1",
        "label": {"classification": "UNCLASSIFIED"},
    }


async def seed(client: httpx.AsyncClient, tracks: int) -> None:
    now = datetime.now(UTC)
    for start in range(0, tracks, BATCH):
        docs = [report(i, 0, tracks, now) for i in range(start, min(tracks, start + BATCH))]
        (await client.post("/api/v1/reports", json=docs)).raise_for_status()


async def feed(client: httpx.AsyncClient, tracks: int, rate: float, stop: asyncio.Event) -> int:
    """Posts ``rate`` updates a second (a batch every TICK_S) until ``stop``."""
    per_tick = max(1, round(rate * TICK_S))
    sent = 0
    started = time.perf_counter()
    tick = 0
    while not stop.is_set():
        now = datetime.now(UTC)
        docs = [
            report((sent + i) % tracks, 1 + (sent + i) // tracks, tracks, now)
            for i in range(per_tick)
        ]
        (await client.post("/api/v1/reports", json=docs)).raise_for_status()
        sent += per_tick
        tick += 1
        delay = started + tick * TICK_S - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    return sent


# Pans a little on every frame for `seconds`, counting frames and their intervals, and how
# many track updates reached the page meanwhile. The pan starts from the opening view and
# swings back and forth across it (240 px either way), so every round draws the same
# picture, whatever its frame rate: a pan that drifted would leave the tracks behind and
# measure an emptier and emptier map.
PAN = """async (seconds) => {
  const map = window.tessera.map;
  const layer = window.tessera.trackLayer;
  map.jumpTo({ center: window.benchmarkCentre });
  const received0 = layer.received, flushes0 = layer.flushes;
  const gaps = [];
  let frames = 0, last = performance.now(), direction = 1, offset = 0;
  const start = last;
  await new Promise((resolve) => {
    const step = (now) => {
      frames += 1; gaps.push(now - last); last = now;
      if (Math.abs(offset + 4 * direction) > 240) direction = -direction;
      offset += 4 * direction;
      map.panBy([4 * direction, 2 * direction], { duration: 0 });
      if (now - start < seconds * 1000) requestAnimationFrame(step); else resolve();
    };
    requestAnimationFrame(step);
  });
  const elapsed = (last - start) / 1000;
  gaps.sort((a, b) => a - b);
  return {
    fps: frames / elapsed,
    p95_frame_ms: gaps[Math.floor(gaps.length * 0.95)],
    updates_per_s: (layer.received - received0) / elapsed,
    source_updates_per_s: (layer.flushes - flushes0) / elapsed,
    drawn: window.tessera.trackCount(),
    symbols: window.tessera.symbolsDrawn(),
  };
}"""


# The ceiling the browser and machine allow at that moment: an empty WebGL canvas of the
# same size cleared to a new colour on every frame.
BARE_WEBGL = """async (seconds) => {
  const canvas = document.createElement("canvas");
  canvas.width = innerWidth; canvas.height = innerHeight;
  document.body.style.margin = "0"; document.body.appendChild(canvas);
  const gl = canvas.getContext("webgl2");
  let frames = 0;
  const start = performance.now();
  await new Promise((resolve) => {
    const step = (now) => {
      frames += 1; gl.clearColor(frames % 2, 0.5, 0.5, 1); gl.clear(gl.COLOR_BUFFER_BIT);
      if (now - start < seconds * 1000) requestAnimationFrame(step); else resolve();
    };
    requestAnimationFrame(step);
  });
  return frames / ((performance.now() - start) / 1000);
}"""


async def open_map(page: Page, served: Served, tracks: int, timeout_s: float) -> None:
    await page.goto(f"{served.url}/#token={served.token}")
    await page.wait_for_function("() => window.tessera && window.tessera.ready", timeout=60_000)
    await page.wait_for_function(
        f"() => window.tessera.trackCount() >= {int(tracks * 0.95)}", timeout=timeout_s * 1000
    )
    centre = [WEST + COLS_DEG / 2, SOUTH + ROWS_DEG / 2]
    await page.evaluate(
        f"() => {{ window.benchmarkCentre = {centre}; "
        f"window.tessera.map.jumpTo({{center: {centre}, zoom: 6.3}}); }}"
    )
    await page.wait_for_timeout(2000)


def viewport(size: str) -> ViewportSize:
    width, height = size.split("x")
    return ViewportSize(width=int(width), height=int(height))


async def measure(
    tracks: int, rate: float, seconds: float, size: str, sizes: list[str], warmup: float = 0.0
) -> dict[str, Any]:
    async with server_process() as served, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport=viewport(size))
            async with httpx.AsyncClient(
                base_url=served.url, timeout=60, headers=served.headers
            ) as client:
                await seed(client, tracks)
                await open_map(page, served, tracks, timeout_s=120)
                first = await page.evaluate(PAN, warmup) if warmup > 0 else {"fps": math.nan}
                idle: dict[str, float] = await page.evaluate(PAN, min(seconds, 5.0))
                stop = asyncio.Event()
                feeding = asyncio.create_task(feed(client, tracks, rate, stop))
                started = time.perf_counter()
                try:
                    busy: dict[str, float] = await asyncio.wait_for(
                        page.evaluate(PAN, seconds), seconds + 60
                    )
                finally:
                    stop.set()
                    sent = await feeding
                posted = sent / (time.perf_counter() - started)
                idle_at: dict[str, float] = {}
                for other in sizes:
                    await page.set_viewport_size(viewport(other))
                    await page.wait_for_timeout(2000)
                    panned: dict[str, float] = await page.evaluate(PAN, min(seconds, 5.0))
                    idle_at[other] = panned["fps"]
            # The ceiling with nothing else drawing: the map's page is closed first.
            await page.close()
            bare_at: dict[str, float] = {}
            for each in [size, *sizes]:
                bare_page = await browser.new_page(viewport=viewport(each))
                await bare_page.set_content("<!doctype html><body></body>")
                bare_at[each] = await bare_page.evaluate(BARE_WEBGL, min(seconds, 5.0))
                await bare_page.close()
        finally:
            await browser.close()
    return {
        "size": size,
        "warmup_s": warmup,
        "first_fps": first["fps"],
        "idle_at": idle_at,
        "bare_at": bare_at,
        "tracks": tracks,
        "posted_per_s": posted,
        "fps": busy["fps"],
        "p95_frame_ms": busy["p95_frame_ms"],
        "updates_per_s": busy["updates_per_s"],
        "source_updates_per_s": busy["source_updates_per_s"],
        "drawn": busy["drawn"],
        "symbols": busy["symbols"],
        "idle_fps": idle["fps"],
        "bare_webgl_fps": bare_at[size],
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def section(result: dict[str, Any], command: str, before: str, after: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""{SECTION}

`{command}`, {when}: `tessera serve` (embedded default) on loopback,
{result["tracks"]:,.0f} tracks, updates posted at {result["posted_per_s"]:,.0f}/s while the
page pans the map on every animation frame; headless Chromium with software WebGL
(SwiftShader), {result["size"]}. Load average (1, 5, 15 min) before: {before}; after: {after}.
{warmed(result)}
| what | figure |
|---|---:|
| frames/s while panning, with the updates | {result["fps"]:.1f} |
| 95th percentile frame time | {result["p95_frame_ms"]:.1f} ms |
| frames/s while panning, no updates | {result["idle_fps"]:.1f} |
| frames/s of an empty WebGL canvas (the ceiling then) | {result["bare_webgl_fps"]:.1f} |
| track updates reaching the page/s | {result["updates_per_s"]:,.0f} |
| map source updates/s (coalesced) | {result["source_updates_per_s"]:.1f} |
| tracks drawn | {result["drawn"]:,.0f} |
| symbols standing for them on screen (tracks, clusters of one identity, formations) | \
{result["symbols"]:,.0f} |

{sizes_table(result)}Target: 30 frames/s or more with 10,000 tracks and 2,000 updates a second.
Where a frame's time goes, what was tried and what was measured before:
[docs/map-performance.md](docs/map-performance.md).
"""


def warmed(result: dict[str, Any]) -> str:
    """What the map did while it warmed up, when it was given the time."""
    if not result.get("warmup_s"):
        return ""
    return (
        f"The map was panned for {result['warmup_s']:g} s first, at "
        f"{result['first_fps']:.1f} frames/s over those seconds (no updates), then measured.\n"
    )


def sizes_table(result: dict[str, Any]) -> str:
    """The map panned without updates against the empty canvas, size by size."""
    rows = [
        f"| {size} | {result['idle_at'][size]:.1f} | {result['bare_at'][size]:.1f} |"
        for size in result["idle_at"]
    ]
    if not rows:
        return ""
    head = "| viewport | map panned, no updates, frames/s | empty WebGL canvas, frames/s |"
    return "\n".join([head, "|---|---:|---:|", *rows, "", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="1280x800", help="the viewport, WIDTHxHEIGHT")
    parser.add_argument(
        "--sizes", default="", help="more viewports (comma-separated) for the pan without updates"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=10.0,
        help="seconds of panning after the map opens before anything is measured (10)",
    )
    parser.add_argument("--write", action="store_true", help="write the figures into BENCHMARKS.md")
    args = parser.parse_args()
    before = load()
    sizes = [size for size in args.sizes.split(",") if size]
    result = asyncio.run(
        measure(args.tracks, args.rate, args.seconds, args.size, sizes, args.warmup)
    )
    after = load()
    print({**result, "load_before": before, "load_after": after})
    if args.write:
        command = (
            f"python benchmarks/map_fps.py --tracks {args.tracks} --rate {args.rate:g} "
            f"--seconds {args.seconds:g} --size {args.size} --warmup {args.warmup:g}"
            + (f" --sizes {args.sizes}" if sizes else "")
        )
        write_section(ROOT / "BENCHMARKS.md", SECTION, section(result, command, before, after))


if __name__ == "__main__":
    main()

"""``make cluster-demo``: a scale-out deployment on this one machine, against the local
NATS and PostgreSQL: two gateways, two fusion workers (one active, one standby), the live
exercise fed through the first gateway. Prints the gateways' URLs and a login link for
each demo principal on each; Ctrl-C stops everything.

Each run makes its own database (kept afterwards, named on the way out) and its own
JetStream streams and lease bucket (removed afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import nats
import psycopg
from psycopg import sql

from tessera.postgis.migrate import migrate
from tessera.security.demo import DEMO_PICTURES, FEED, demo_tokens
from tessera.security.postgis import PostgisSecurityStore
from tessera.sim.commands import feed_live, terminal_progress

GATEWAYS = 2
WORKERS = 2


def toml_value(value: Any) -> str:
    """Plain data as a TOML value (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = [f"{key} = {toml_value(item)}" for key, item in value.items() if item is not None]
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def settings_text(dsn: str, nats_url: str, name: str, *, demo_pictures: bool = True) -> str:
    """A settings file for a deployment whose streams and bucket are named after ``name``."""
    upper = name.upper()
    entries: dict[str, Any] = {
        "postgis_dsn": dsn,
        "journal_backend": "jetstream",
        "bus_backend": "nats",
        "nats_servers": [nats_url],
        "journal_stream": f"J_{upper}",
        "journal_prefix": f"{name}.journal",
        "changes_stream": f"C_{upper}",
        "changes_prefix": f"{name}.changes",
        "lease_bucket": f"L_{upper}",
    }
    if demo_pictures:
        entries["pictures"] = msgspec.to_builtins(DEMO_PICTURES)
    return "".join(f"{key} = {toml_value(value)}\n" for key, value in entries.items())


async def run(args: argparse.Namespace) -> int:
    name = f"demo{secrets.token_hex(3)}"
    root = Path(tempfile.mkdtemp(prefix="tessera-cluster-"))
    admin = args.postgres.rstrip("/") + "/postgres"
    dsn = f"{args.postgres.rstrip('/')}/tessera_{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(f"tessera_{name}")))
    applied = migrate(dsn)
    print(f"database tessera_{name}: {len(applied)} migrations applied", file=sys.stderr)
    config = root / "tessera.toml"
    config.write_text(settings_text(dsn, args.nats, name))
    store = PostgisSecurityStore(dsn)
    await store.open()
    try:
        issued = await demo_tokens(store, datetime.now(UTC))
    finally:
        await store.close()
    processes: list[asyncio.subprocess.Process] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        for index in range(WORKERS):
            process, line = await _start(root, config, "fusion", index, processes)
            print(f"fusion worker {index + 1}: {line}", file=sys.stderr)
        urls = []
        for index in range(GATEWAYS):
            process, line = await _start(root, config, "gateway", index, processes)
            urls.append("http://" + line.removeprefix("listening http "))
        for index, url in enumerate(urls, start=1):
            print(f"gateway {index} {url}/", flush=True)
            for person, token in issued.items():
                if person != FEED:
                    print(f"login {person} {url}/#token={token}", flush=True)
        print("exercise fed through gateway 1; Ctrl-C stops everything", file=sys.stderr)
        feeding = asyncio.create_task(
            feed_live(
                urls[0],
                scenario="exercise",
                seed=args.seed,
                rate=args.rate,
                duration=None,
                on_progress=terminal_progress(),
                token=issued[FEED],
            )
        )
        await stop.wait()
        feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feeding
        return 0
    finally:
        print("\nstopping", file=sys.stderr)
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), 30)
        await remove_streams(args.nats, name)
        print(f"kept the database tessera_{name} (dropdb to remove it)", file=sys.stderr)


async def _start(
    root: Path,
    config: Path,
    role: str,
    index: int,
    processes: list[asyncio.subprocess.Process],
) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tessera.cli",
        "serve",
        "--role",
        role,
        "--config",
        str(config),
        "--data",
        str(root / f"{role}-{index + 1}"),
        "--http-port",
        "0",
        "--cot-tls-port",
        "0",
        "--tak-enrollment-port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    processes.append(process)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode().strip()
    if not line:
        raise RuntimeError(f"the {role} process stopped before it started")
    return process, line


async def remove_streams(nats_url: str, name: str) -> None:
    upper = name.upper()
    with contextlib.suppress(Exception):
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        for stream in (
            f"J_{upper}",
            f"C_{upper}",
            f"KV_L_{upper}",
            f"KV_J_{upper}_INDEX",
            f"KV_J_{upper}_CLAIMS",
        ):
            with contextlib.suppress(Exception):
                await js.delete_stream(stream)
        await nc.drain()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

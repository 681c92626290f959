"""Scale-out deployments for the benchmarks, on this machine's NATS (4222) and PostgreSQL
with PostGIS (5432): a fresh database and fresh streams per deployment, removed
afterwards, and ``tessera serve --role ...`` processes on them, on loopback ports picked
freely."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import nats
import psycopg
from psycopg import sql

from benchmarks.common import Served
from tessera.cluster.demo import remove_streams, settings_text
from tessera.core.model import Label, Principal, Report, Role
from tessera.journal.base import Journal
from tessera.journal.jetstream import JetStreamJournal
from tessera.postgis.migrate import migrate
from tessera.security import tokens
from tessera.security.base import SourceGrant
from tessera.security.postgis import PostgisSecurityStore
from tessera.settings import Settings, load_settings

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
NATS = "nats://127.0.0.1:4222"
STARTUP_TIMEOUT_S = 120.0
BENCH = Principal(
    name="bench",
    clearance="SECRET",
    unrestricted=True,
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("UNCLASSIFIED"),
)


class Process:
    """A started ``tessera serve``: every line it printed, with the time it was read
    (``time.perf_counter()``); its stderr goes to ``log``."""

    def __init__(self, process: asyncio.subprocess.Process, role: str, log: Path) -> None:
        self.process = process
        self.role = role
        self.log = log
        self.lines: list[tuple[float, str]] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name=f"read-{role}")

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while raw := await self.process.stdout.readline():
            self.lines.append((time.perf_counter(), raw.decode().strip()))
            self._changed.set()
        self._changed.set()

    async def line(self, prefix: str, timeout: float = STARTUP_TIMEOUT_S) -> tuple[float, str]:
        """The first line starting with ``prefix`` (waiting for it) and when it came."""
        async with asyncio.timeout(timeout):
            while True:
                for when, line in self.lines:
                    if line.startswith(prefix):
                        return when, line
                if self._reader.done():
                    code = await self.process.wait()
                    raise RuntimeError(
                        f"the {self.role} process ended before printing {prefix!r} "
                        f"(exit {code}; see {self.log})"
                    )
                self._changed.clear()
                await self._changed.wait()

    async def stop(self, timeout: float = 60.0) -> None:
        if self.process.returncode is None:
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self._reader


class Deployment:
    """One deployment's database, streams, settings file and processes."""

    def __init__(self, name: str, dsn: str, root: Path, logs: Path, token: str) -> None:
        self.name = name
        self.dsn = dsn
        self.root = root
        self.logs = logs
        self.token = token
        self.config = root / "tessera.toml"
        self.config.write_text(settings_text(dsn, NATS, name, demo_pictures=False))
        self.processes: list[Process] = []

    @property
    def settings(self) -> Settings:
        """The settings every process of the deployment reads (stream names, pictures)."""
        return load_settings(self.config)

    async def start(
        self, role: str, *extra: str, log_level: str = "warning", config: Path | None = None
    ) -> Process:
        """``tessera serve --role ROLE`` on the settings file, or on ``config`` (the same
        deployment's, with other settings), ``extra`` options after."""
        index = len(self.processes)
        log = self.logs / f"{self.name}-{role}-{index}.log"
        data = self.root / f"{role}-{index}"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tessera.cli", "serve", "--role", role,
                "--config", str(config or self.config), "--data", str(data),
                "--http-port", "0", "--cot-tls-port", "0",
                "--tak-enrollment-port", "0", "--log-level", log_level, *extra,
                stdout=asyncio.subprocess.PIPE, stderr=stderr,
            )  # fmt: skip
        started = Process(process, role, log)
        self.processes.append(started)
        return started

    async def worker(self, *extra: str) -> Process:
        """A fusion worker (logging at info level), caught up."""
        process = await self.start("fusion", *extra, log_level="info")
        await process.line("fusion caught up")
        return process

    async def gateway(self, *extra: str, config: Path | None = None) -> tuple[Process, Served]:
        """A gateway, listening."""
        process = await self.start("gateway", *extra, config=config)
        _, line = await process.line("listening http ")
        return process, Served("http://" + line.removeprefix("listening http "), self.token)


@contextlib.asynccontextmanager
async def scratch(logs: Path | None = None) -> AsyncIterator[Deployment]:
    """A fresh database (migrated, with the benchmark's principal) and stream names, no
    process yet; the processes started on it are stopped, the streams and the database
    removed on the way out. Processes' stderr goes to ``logs`` (a temporary folder
    otherwise)."""
    name = f"bench{secrets.token_hex(3)}"
    database = f"tessera_{name}"
    dsn = f"{POSTGRES}/{database}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    deployment: Deployment | None = None
    try:
        migrate(dsn)
        store = PostgisSecurityStore(dsn)
        await store.open()
        await store.add_principal(BENCH)
        # The benchmarks' feed reports as every source it makes up.
        await store.add_source_grant(SourceGrant(principal=BENCH.name, pattern="*"))
        issued = tokens.issue(BENCH.name, now=datetime.now(UTC), expires_at=None)
        await store.add_token(issued.record)
        await store.close()
        with tempfile.TemporaryDirectory(prefix="tessera-scaleout-") as root:
            folder = Path(root) / "logs" if logs is None else logs
            folder.mkdir(parents=True, exist_ok=True)
            deployment = Deployment(name, dsn, Path(root), folder, issued.token)
            try:
                yield deployment
            finally:
                for process in deployment.processes:
                    await process.stop()
    finally:
        await remove_streams(NATS, name)
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


@contextlib.asynccontextmanager
async def deployment(gateways: int) -> AsyncIterator[list[Served]]:
    """A fusion worker and ``gateways`` gateways on a fresh database and fresh streams."""
    async with scratch() as fresh:
        await fresh.worker()
        yield [(await fresh.gateway())[1] for _ in range(gateways)]


def rss_kib(pid: int) -> int:
    """A process's resident memory now (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_problems(log: Path) -> list[str]:
    """The lines of a process's log that say something went wrong."""
    if not log.exists():
        return []
    keep = (" ERROR ", " CRITICAL ", "Traceback", " WARNING ")
    return [line for line in log.read_text().splitlines() if any(k in line for k in keep)]


def journal(fresh: Deployment, clock: Callable[[], datetime]) -> JetStreamJournal:
    """The deployment's JetStream journal, for appending from the benchmark process."""
    settings = fresh.settings
    return JetStreamJournal(
        settings.nats_servers,
        clock=clock,
        stream=settings.journal_stream,
        prefix=settings.journal_prefix,
    )


async def append_all(
    target: Journal, reports: Sequence[Report], *, size: int = 1_000, in_flight: int = 4
) -> int:
    """Append ``reports`` in appends of ``size``, ``in_flight`` at a time; the last seq."""
    parts = [reports[i : i + size] for i in range(0, len(reports), size)]
    last = 0
    for first in range(0, len(parts), in_flight):
        group = parts[first : first + in_flight]
        results = await asyncio.gather(*(target.append(part) for part in group))
        last = max(last, *(result.last_seq for result in results))
    return last


# Every picture's stored journal position (the lowest), the highest change seq, how many.
_POSITIONS = "SELECT coalesce(min(journal_seq), 0), coalesce(max(seq), 0), count(*) FROM pictures"


async def wait_stored(dsn: str, position: int, timeout: float) -> tuple[float, int]:
    """Poll the ``pictures`` table until every picture's stored journal position reaches
    ``position``: when (``time.perf_counter()``), and the highest change seq stored then."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        async with asyncio.timeout(timeout):
            while True:
                row = await (await conn.execute(_POSITIONS)).fetchone()
                if row is not None and row[2] and row[0] >= position:
                    return time.perf_counter(), int(row[1])
                await asyncio.sleep(0.02)


# How far the report archive holds every journal report (migration 0003 on).
_ARCHIVED = "SELECT journal_seq FROM report_archive"


async def wait_archived(dsn: str, position: int, timeout: float) -> float | None:
    """Poll the report archive's journal position until it reaches ``position``: when
    (``time.perf_counter()``); None if the schema has no report archive."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        try:
            await conn.execute(_ARCHIVED)
        except psycopg.errors.UndefinedTable:
            return None
        async with asyncio.timeout(timeout):
            while True:
                row = await (await conn.execute(_ARCHIVED)).fetchone()
                if row is not None and row[0] >= position:
                    return time.perf_counter()
                await asyncio.sleep(0.05)


async def purge_changes(fresh: Deployment) -> None:
    """Empty the deployment's change-feed stream (a gateway starting then loads its
    pictures from PostGIS and replays nothing)."""
    nc = await nats.connect(NATS)
    try:
        await nc.jetstream().purge_stream(fresh.settings.changes_stream)
    finally:
        await nc.close()


async def stored_tracks(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        row = await (await conn.execute("SELECT count(*) FROM tracks")).fetchone()
        return 0 if row is None else int(row[0])

"""The servers measured side by side, each started the way its documentation gives for a plain
TCP CoT port, on loopback, and stopped with every process it started.

FreeTAKServer hard-codes ports (0.0.0.0:8080 and :8443) and writes under /opt and /var/log:
it runs in a network and mount namespace of its own (``unshare``), with a scratch folder over
/opt and /var/log, and the load generator joins its network namespace. OpenTAKServer needs
the machine's PostgreSQL and RabbitMQ, so it runs on the machine's loopback on free ports,
in a database of its own created (and dropped) here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import start_serving
from benchmarks.fanout import _serve
from benchmarks.peers.install import FREETAKSERVER, OPENTAKSERVER, install
from benchmarks.peers.procs import accepts, alive, stop_tree, tree

START_TIMEOUT = 120.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
OTS_DATABASE = "tessera_bench_ots"


class PeerError(RuntimeError):
    """A server that did not start, or died: reported with its error, never dropped."""


@dataclass
class Running:
    """A server listening for CoT on ``host:port``; ``roots`` are the processes it started
    (their trees are its CPU and memory); ``netns`` the network namespace to reach it from."""

    name: str
    version: str
    host: str
    port: int
    roots: list[int]
    command: str
    settings: str
    netns: str | None = None
    logs: list[Path] = field(default_factory=list)

    def pids(self) -> list[int]:
        return [pid for root in self.roots for pid in tree(root)]

    def check_alive(self) -> None:
        if not all(alive([root]) for root in self.roots):
            raise PeerError(f"{self.name} exited: {self.log_tail()}")

    def log_tail(self, lines: int = 8) -> str:
        text = []
        for log in self.logs:
            with contextlib.suppress(OSError):
                text.extend(log.read_text(errors="replace").splitlines()[-lines:])
        return " | ".join(line.strip() for line in text if line.strip())[-1500:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until(running: Running, ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        running.check_alive()
        if ready():
            return
        time.sleep(0.5)
    raise PeerError(f"{running.name}: {what} not ready in {START_TIMEOUT:.0f} s: "
                     f"{running.log_tail()}")  # fmt: skip


def _accepts_in(netns: str, host: str, port: int) -> bool:
    probe = f"exec 3<>/dev/tcp/{host}/{port}"
    command = ["nsenter", f"--net={netns}", "bash", "-c", probe]
    return subprocess.run(command, capture_output=True, timeout=10).returncode == 0


@contextlib.contextmanager
def tessera() -> Iterator[Running]:
    data, _, config = asyncio.run(_serve(0))
    process, ports = start_serving(data, "--config", str(config), "--cot-port", "0")
    host, port = ports["cot"]
    running = Running(
        "Tessera", _tessera_version(), host, port, [process.pid],
        "tessera serve --data DIR --config DIR/tessera.toml --cot-port 0 (plus HTTP)",
        'cot_tcp_principal = "bench" (plain TCP clients read and write as one principal)',
    )  # fmt: skip
    try:
        yield running
    finally:
        stop_tree(process.pid)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _tessera_version() -> str:
    from importlib.metadata import version

    return version("tessera")


FTS_ARGS = (
    "-CoTIP 127.0.0.1 -CoTPort 8087 -SSLCoTIP 127.0.0.1 -SSLCoTPort 8089 "
    "-DataPackageIP 127.0.0.1 -SSLDataPackageIP 127.0.0.1 -RestAPIIP 127.0.0.1 -AutoStart True"
)
FTS_ENV = (
    "FTS_FIRST_START=false FTS_API_ADDRESS=127.0.0.1 FTS_DP_ADDRESS=127.0.0.1 "
    "FTS_USER_ADDRESS=127.0.0.1"
)


@contextlib.contextmanager
def freetakserver() -> Iterator[Running]:
    python = install(FREETAKSERVER) / "bin" / "python"
    with tempfile.TemporaryDirectory(prefix="tessera-bench-fts-") as scratch:
        root = Path(scratch)
        (root / "opt").mkdir()
        (root / "log").mkdir()
        inner = (
            f"ip link set lo up && mount --bind {root / 'opt'} /opt && "
            f"mount --bind {root / 'log'} /var/log && cd {root} && "
            f"{FTS_ENV} exec {python} -m FreeTAKServer.controllers.services.FTS {FTS_ARGS}"
        )
        log = root / "fts.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["unshare", "-n", "-m", "--propagation", "private", "--fork", "--",
                 "sh", "-c", inner],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        netns = f"/proc/{process.pid}/ns/net"
        running = Running(
            "FreeTAKServer", FREETAKSERVER.version, "127.0.0.1", 8087, [process.pid],
            f"{FTS_ENV} python -m FreeTAKServer.controllers.services.FTS {FTS_ARGS}",
            "private network and mount namespace (unshare -n -m), scratch /opt and /var/log",
            netns, [log],
        )  # fmt: skip
        try:
            _wait_until(running, lambda: _accepts_in(netns, "127.0.0.1", 8087), "CoT port")
            yield running
        finally:
            stop_tree(process.pid)
            process.wait(timeout=30)


def _ots_database(create: bool) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (OTS_DATABASE,),
        )
        admin.execute(f"DROP DATABASE IF EXISTS {OTS_DATABASE}")
        if create:
            admin.execute(f"CREATE DATABASE {OTS_DATABASE}")
    if create:
        dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + OTS_DATABASE
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


# OpenTAKServer has no RabbitMQ vhost setting: it uses the default one, where it leaves a
# queue per client (named by callsign and uid) that fills up once the client is gone.
# The harness's clients are all called bench-N: their queues are deleted before and after.
_DELETE_QUEUES = """
import sys, pika
connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1"))
channel = connection.channel()
for name in sys.argv[1:]:
    channel.queue_delete(queue=name)
connection.close()
"""
OTS_QUEUES = [f"bench-{index}" for index in range(600)] + ["cot_parser"]


def _ots_queues_deleted(python: Path) -> None:
    subprocess.run([str(python), "-c", _DELETE_QUEUES, *OTS_QUEUES], check=True, timeout=60)


@contextlib.contextmanager
def opentakserver() -> Iterator[Running]:
    folder = install(OPENTAKSERVER) / "bin"
    _ots_database(create=True)
    _ots_queues_deleted(folder / "python")
    web, streaming = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="tessera-bench-ots-") as scratch:
        root = Path(scratch)
        env = {
            "OTS_DATA_FOLDER": str(root / "data"),
            "OTS_LISTENER_ADDRESS": "127.0.0.1",
            "OTS_LISTENER_PORT": str(web),
            "OTS_STREAMING_INTERFACE": "127.0.0.1",
            "OTS_TCP_STREAMING_PORT": str(streaming),
            "OTS_SSL_STREAMING_PORT": str(free_port()),
            "OTS_UDP_PORT": str(free_port()),
            "OTS_MARTI_HTTP_PORT": str(free_port()),
            "OTS_MARTI_HTTPS_PORT": str(free_port()),
            "OTS_RABBITMQ_SERVER_ADDRESS": "127.0.0.1",
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1/{OTS_DATABASE}",
            "OTS_MEDIAMTX_ENABLE": "False",
            "OTS_ENABLE_EMAIL": "False",
            # Its first start fetches icons from the internet: fail fast, locally.
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
        }
        settings = " ".join(
            f"{key}={'SCRATCH/data' if key == 'OTS_DATA_FOLDER' else value}"
            for key, value in env.items()
            if not key.endswith("_PORT")
        )
        running = Running(
            "OpenTAKServer", OPENTAKSERVER.version, "127.0.0.1", streaming, [],
            "opentakserver; then cot_parser and eud_handler", settings + " (ports free ones)",
        )  # fmt: skip
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for program in ("opentakserver", "cot_parser", "eud_handler"):
                log = root / f"{program}.log"
                running.logs.append(log)
                with log.open("wb") as out:
                    process = subprocess.Popen(
                        [str(folder / program)], cwd=root, env={**os.environ, **env},
                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                    )  # fmt: skip
                processes.append(process)
                running.roots.append(process.pid)
                if program == "opentakserver":
                    _wait_until(running, lambda: accepts("127.0.0.1", web), "web/API port")
            _wait_until(running, lambda: accepts("127.0.0.1", streaming), "CoT port")
            yield running
        finally:
            for process in processes:
                stop_tree(process.pid)
                process.wait(timeout=30)
            _ots_database(create=False)
            _ots_queues_deleted(folder / "python")


SERVERS = {"tessera": tessera, "fts": freetakserver, "ots": opentakserver}


def describe(running: Running) -> str:
    return f"{running.name} {running.version}: `{shlex.quote(running.command)[1:-1]}`"

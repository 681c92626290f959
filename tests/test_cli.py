"""The tessera command as scripts use it: ports announced, clean stops, clear errors."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import websockets

from tessera.sim.scenario import EXERCISE_SOURCES
from tests.support import bearer

pytestmark = pytest.mark.slow

TESSERA = [sys.executable, "-m", "tessera.cli"]
# The TAK ports on free ones too: a test never needs 8089 or 8446 to be free.
FREE_TAK_PORTS = ("--cot-tls-port", "0", "--tak-enrollment-port", "0")


def tessera(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TESSERA, *argv], capture_output=True, text=True, timeout=timeout, check=False
    )


@contextmanager
def serving(*argv: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [*TESSERA, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening http 127.0.0.1:"), line
        yield process, "http://" + line.removeprefix("listening http ")
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_announces_its_port_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    with serving("serve", "--data", str(tmp_path), "--http-port", "0", *FREE_TAK_PORTS) as (
        process,
        url,
    ):
        assert httpx.get(url + "/api/v1/health").json()["status"] == "ok"
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0


def test_serve_announces_the_tak_enrollment_port_after_cot_tls(tmp_path: Path) -> None:
    with serving("serve", "--data", str(tmp_path), "--http-port", "0", *FREE_TAK_PORTS) as (
        process,
        _,
    ):
        assert process.stdout is not None
        lines = [process.stdout.readline().split() for _ in range(2)]
        assert [line[:2] for line in lines] == [
            ["listening", "cot-tls"],
            ["listening", "tak-enroll"],
        ]
        url = "https://" + lines[1][2]
        ca = ssl.create_default_context(cafile=tmp_path / "certs" / "ca.pem")
        refused = httpx.get(url + "/Marti/api/tls/config", verify=ca)
        assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]


def test_serve_with_http_tls_announces_https(tmp_path: Path) -> None:
    argv = ["serve", "--data", str(tmp_path), "--http-port", "0", *FREE_TAK_PORTS]
    process = subprocess.Popen(
        [*TESSERA, *argv, "--http-tls"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening https 127.0.0.1:"), line
        url = "https://" + line.removeprefix("listening https ")
        ca = ssl.create_default_context(cafile=tmp_path / "certs" / "ca.pem")
        assert httpx.get(url + "/api/v1/health", verify=ca).json()["status"] == "ok"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0
        assert f"serving the map at {url}/" in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def test_demo_serves_plain_http_and_feeds_itself(tmp_path: Path) -> None:
    argv = ["demo", "--data", str(tmp_path), "--http-port", "0", *FREE_TAK_PORTS]
    with serving(*argv, "--rate", "50") as (process, url):
        assert process.stdout is not None
        line = process.stdout.readline()
        while not line.startswith("login nato-officer "):
            line = process.stdout.readline()
        link = line.split()[2]
        assert link.startswith(url + "/#token=")
        token = link.split("#token=", 1)[1]

        async def a_track_arrives() -> None:
            headers = {"authorization": f"Bearer {token}"}
            stream = "ws" + url.removeprefix("http") + "/api/v1/stream"
            async with websockets.connect(stream, additional_headers=headers) as ws:
                await ws.send(json.dumps({"type": "subscribe"}))
                while True:
                    message = json.loads(await ws.recv())
                    if message.get("features") or message.get("upserts"):
                        return

        # The exercise reaches the picture: its feed posts over plain HTTP.
        asyncio.run(asyncio.wait_for(a_track_arrives(), 60))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    # The demo registers the exercise's sources: nothing it fed was refused.
    submitted = tessera("audit", "--data", str(tmp_path), "--action", "reports.submit")
    assert " ok " in submitted.stdout
    refused = tessera("audit", "--data", str(tmp_path), "--outcome", "denied")
    assert refused.returncode == 0 and refused.stdout == ""
    config = tmp_path / "tls.toml"
    config.write_text("http_tls = true\n")
    refused = tessera("demo", "--config", str(config), "--http-port", "0", timeout=30)
    assert refused.returncode == 2
    assert "tessera demo serves plain HTTP" in refused.stderr


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = tessera(
            "serve", "--data", str(tmp_path), "--http-port", str(port), *FREE_TAK_PORTS,
            timeout=30,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text(
        'levels = ["A", "B"]\ndefault_label = { classification = "A" }\n'
        '[[pictures]]\nname = "X"\nreaders = ["*"]\nrule = { max_classification = "Z" }\n'
    )
    result = tessera("serve", "--data", str(tmp_path), "--config", str(config), timeout=30)
    assert result.returncode == 2
    assert "unknown classification 'Z'" in result.stderr
    assert str(config) in result.stderr
    config.write_text("http_prot = 1\n")
    result = tessera("serve", "--data", str(tmp_path), "--config", str(config), timeout=30)
    assert result.returncode == 2
    assert "http_prot" in result.stderr


def issue_token(data: Path, name: str, *add: str) -> Path:
    """Add a principal and write a token for it to a file, as an operator would."""
    added = tessera("users", "add", name, "--data", str(data), *add)
    assert added.returncode == 0, added.stderr
    issued = tessera("users", "token", name, "--data", str(data))
    assert issued.returncode == 0, issued.stderr
    token_file = data / f"{name}.token"
    token_file.write_text(issued.stdout)
    return token_file


def test_simulate_feeds_a_running_server(tmp_path: Path) -> None:
    feed = issue_token(
        tmp_path, "feed", "--kind", "system", "--roles", "reporter", "--clearance", "SECRET",
        "--communities", "EU,NATO,POL,UKR",
    )  # fmt: skip
    viewer = issue_token(tmp_path, "viewer", "--clearance", "SECRET")
    admin = issue_token(tmp_path, "admin", "--roles", "admin")
    with serving("serve", "--data", str(tmp_path), "--http-port", "0", *FREE_TAK_PORTS) as (
        process,
        url,
    ):
        simulate = ["simulate", "--to", url, "--rate", "100", "--seed", "2"]
        missing = tessera(*simulate, "--duration", "1", timeout=60)
        assert missing.returncode == 2 and "needs a reporter's token" in missing.stderr
        refused = tessera(*simulate, "--duration", "1", "--token-file", str(viewer), timeout=60)
        assert refused.returncode == 1 and "HTTP 403" in refused.stderr
        # The feed owns no source yet: refused, naming the field.
        unowned = tessera(*simulate, "--duration", "1", "--token-file", str(feed), timeout=60)
        assert unowned.returncode == 1 and "source.id" in unowned.stderr, unowned.stderr
        granted = tessera(
            "sources", "add", "feed", *EXERCISE_SOURCES, "--data", str(tmp_path), timeout=60
        )
        assert granted.returncode == 0, granted.stderr
        result = tessera(*simulate, "--duration", "4", "--token-file", str(feed), timeout=60)
        assert result.returncode == 0, result.stderr
        assert "sent" in result.stderr and "errors 0" in result.stderr
        # Health says only that the server is alive and fusion has caught up; the journal's
        # position is the admins'.
        health = httpx.get(url + "/api/v1/health").json()
        assert health == {"status": "ok", "fusion": "caught_up"}
        status = httpx.get(url + "/api/v1/status", headers=bearer(admin.read_text().strip()))
        assert status.json()["journal_seq"] > 100
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_simulate_reports_an_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    token = tmp_path / "token"
    token.write_text("tsr_0000000000000000_" + "x" * 43)
    result = tessera(
        "simulate", "--to", f"http://127.0.0.1:{port}", "--duration", "2",
        "--token-file", str(token), timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "giving up" in result.stderr

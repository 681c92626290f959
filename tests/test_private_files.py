"""The data folder is its owner's only: every folder Tessera makes there 0700, every file
0600 (databases with their -wal and -shm, keys, certificates, client packages), whatever
the umask."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tessera.private_files import private_file, private_folder

TESSERA = [sys.executable, "-m", "tessera.cli"]
FREE_TAK_PORTS = ("--cot-tls-port", "0", "--tak-enrollment-port", "0")
# The usual umask: without explicit modes, files come out 0644 and folders 0755.
UMASK = 0o022


def tessera(*argv: str) -> str:
    result = subprocess.run(
        [*TESSERA, *argv], capture_output=True, text=True, timeout=60, check=False, umask=UMASK
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@contextmanager
def running(*argv: str, ready: str) -> Iterator[subprocess.Popen[str]]:
    """A server command, until it has printed a line starting with ``ready``."""
    process = subprocess.Popen(
        [*TESSERA, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, umask=UMASK
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        while line and not line.startswith(ready):
            line = process.stdout.readline()
        assert line.startswith(ready), process.communicate(timeout=30)
        yield process
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def modes(data: Path) -> dict[str, int]:
    """Every path under ``data`` (and itself, as "."), with its permission bits."""
    found = {".": stat.S_IMODE(data.stat().st_mode)}
    for path in data.rglob("*"):
        found[str(path.relative_to(data))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_owner_only(data: Path) -> dict[str, int]:
    found = modes(data)
    for name, mode in found.items():
        wanted = 0o700 if (data / name).is_dir() else 0o600
        assert mode == wanted, f"{name}: {mode:o}, not {wanted:o}"
    return found


@pytest.mark.slow
def test_the_data_folder_is_its_owners_only(tmp_path: Path) -> None:
    data = tmp_path / "deployments" / "data"
    tessera("certs", "init", "--data", str(data))
    tessera("users", "add", "alice", "--data", str(data), "--roles", "viewer,reporter")
    tessera("certs", "client", "phone", "--principal", "alice", "--data", str(data))
    tessera("users", "token", "alice", "--data", str(data))
    tessera("certs", "revoke", "phone", "--data", str(data))
    serve = ("serve", "--data", str(data), "--http-port", "0", *FREE_TAK_PORTS)
    with running(*serve, ready="listening http"):
        # While it runs, the databases' -wal and -shm files are there too.
        seen = set(assert_owner_only(data))
    seen |= set(assert_owner_only(data))
    expected = {
        ".",
        "journal.sqlite3",
        "journal.sqlite3-wal",
        "journal.sqlite3-shm",
        "security.sqlite3",
        "security.sqlite3-wal",
        "security.sqlite3-shm",
        "alerts.sqlite3",
        "certs",
        "certs/ca.key",
        "certs/ca.pem",
        "certs/server.key",
        "certs/server.pem",
        "certs/crl.pem",
        "certs/clients",
        *(f"certs/clients/phone.{suffix}" for suffix in ("pem", "key", "p12", "zip")),
    }
    assert expected <= seen, expected - seen
    # A missing parent folder was made too, and is the owner's alone like the data folder.
    assert stat.S_IMODE(data.parent.stat().st_mode) == 0o700


@pytest.mark.slow
def test_the_demos_data_folder_is_its_owners_only(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    demo = ("demo", "--data", str(data), "--http-port", "0", *FREE_TAK_PORTS)
    with running(*demo, "--rate", "20", ready="login "):
        assert_owner_only(data)
    found = assert_owner_only(data)
    assert {"journal.sqlite3", "security.sqlite3", "certs/ca.key"} <= set(found)


def test_folders_and_files_are_made_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    before = os.umask(0)
    try:
        folder = private_folder(tmp_path / "a" / "b")
        assert private_file(folder / "c.sqlite3")
        assert not private_file(folder / "c.sqlite3")
    finally:
        os.umask(before)
    for path in (tmp_path / "a", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "c.sqlite3").stat().st_mode) == 0o600


def test_what_is_there_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o750)
    kept = shared / "journal.sqlite3"
    kept.write_bytes(b"")
    kept.chmod(0o640)
    private_folder(shared)
    assert not private_file(kept)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o750
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640

"""Process trees read from /proc (Linux): a server's CPU time and memory, summed over every
process it started, and stopping all of them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import time
from pathlib import Path

CLONE_NEWNET = 0x40000000
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def _parents() -> dict[int, tuple[int, int]]:
    """Every process's parent and session."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # The command name may hold spaces and parentheses: split after the last ')'.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return parents


def tree(root: int) -> list[int]:
    """``root`` and every process descended from it, or in its session if it leads one
    (orphans a server forked and left to init included)."""
    parents = _parents()
    found = [root]
    found.extend(pid for pid, (_, session) in parents.items() if session == root != pid)
    for pid in found:
        found.extend(
            child for child, (parent, _) in parents.items() if parent == pid and child not in found
        )
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of ``pids`` (those still running)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of ``pids``, summed."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def stop_tree(root: int, grace: float = 10.0) -> None:
    """SIGTERM to ``root`` and its descendants, SIGKILL to whatever is left after
    ``grace`` seconds; returns once none is running."""
    pids = tree(root)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(pids) and time.monotonic() < deadline:
        # Late children (a supervisor restarting one) are caught too.
        pids = list(dict.fromkeys(pids + [p for pid in alive(pids) for p in tree(pid)]))
        time.sleep(0.1)
    for pid in alive(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def enter_netns(netns: str | None) -> None:
    """Move this (single-threaded) process into the network namespace at ``netns``."""
    if netns is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(netns, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {netns}")
    finally:
        os.close(fd)


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False

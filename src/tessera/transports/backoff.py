"""Connect again after any failure: one attempt after another, the wait between them
doubling up to the longest, the status saying where the loop stands (connecting,
waiting, stopped). A closed journal or a stop ends the loop; nothing else does, unless the
attempt raises what it was not told to retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from tessera.journal.base import JournalClosedError

Sleep = Callable[[float], Awaitable[None]]


class Reconnecting(Protocol):
    """What the loop keeps up to date on a link's or a feed's status."""

    state: str
    connected: bool
    reconnects: int


class Backoff(Protocol):
    """The waits between attempts: the first, doubled each time up to the longest (a
    feed's, a TAK server link's or a federation link's settings)."""

    @property
    def backoff_s(self) -> float: ...

    @property
    def backoff_max_s(self) -> float: ...


class Attempt:
    """One attempt's word on how it went: ``up`` once it got through (the next wait then
    starts afresh, even if the attempt fails afterwards); ``done`` when there is nothing
    more to do (no attempt follows)."""

    __slots__ = ("done", "up")

    def __init__(self) -> None:
        self.up = False
        self.done = False


async def run_with_backoff(
    attempt: Callable[[Attempt], Awaitable[None]],
    status: Reconnecting,
    backoff: Backoff,
    *,
    failed: Callable[[Exception], None],
    retried: tuple[type[Exception], ...] = (Exception,),
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Run ``attempt`` until it is done, the journal closes or the task is cancelled;
    ``failed`` hears each error of the kinds ``retried`` (others end the loop)."""
    delay = backoff.backoff_s
    while True:
        status.state = "connecting"
        this = Attempt()
        try:
            await attempt(this)
            if this.done:
                return
        except asyncio.CancelledError:
            status.state, status.connected = "stopped", False
            raise
        except JournalClosedError:
            status.state, status.connected = "stopped", False
            return
        except retried as exc:
            failed(exc)
            # A stop that arrived as the attempt failed was turned into this error
            # (a timeout's, say): honour it rather than waiting to try again.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                status.state, status.connected = "stopped", False
                raise asyncio.CancelledError from exc
        if this.up:
            delay = backoff.backoff_s
        status.connected, status.state = False, "waiting"
        status.reconnects += 1
        await sleep(delay)
        delay = min(delay * 2, backoff.backoff_max_s)

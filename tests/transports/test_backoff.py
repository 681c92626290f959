"""The reconnect loop feeds, TAK server links and federation dialling share: the wait
doubles up to the longest and starts afresh after an attempt that got through; a closed
journal, a finished attempt or a stop ends it, and errors it was not told to retry end it
too."""

from __future__ import annotations

import asyncio

import pytest

from tessera.journal.base import JournalClosedError
from tessera.transports.backoff import Attempt, run_with_backoff


class Waits:
    def __init__(self, first: float, longest: float) -> None:
        self.backoff_s = first
        self.backoff_max_s = longest


class Status:
    def __init__(self) -> None:
        self.state = "starting"
        self.connected = False
        self.reconnects = 0


def test_the_wait_doubles_to_the_longest_and_starts_afresh_after_an_attempt_got_through() -> None:
    waits: list[float] = []
    failures: list[str] = []
    outcomes = iter(["fail", "fail", "fail", "up-then-fail", "fail", "done"])

    async def attempt(this: Attempt) -> None:
        outcome = next(outcomes)
        if outcome == "done":
            this.done = True
            return
        this.up = outcome.startswith("up")
        raise OSError(outcome)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    status = Status()
    asyncio.run(
        run_with_backoff(
            attempt,
            status,
            Waits(1.0, 3.0),
            failed=lambda exc: failures.append(str(exc)),
            sleep=sleep,
        )
    )
    assert waits == [1.0, 2.0, 3.0, 1.0, 2.0]
    assert failures == ["fail", "fail", "fail", "up-then-fail", "fail"]
    assert status.reconnects == 5
    assert status.state == "connecting"  # a finished attempt says where it ended


def test_a_closed_journal_stops_and_an_error_not_retried_ends_the_loop() -> None:
    async def closed(this: Attempt) -> None:
        raise JournalClosedError("closed")

    async def broken(this: Attempt) -> None:
        raise ValueError("not a connection error")

    status = Status()
    asyncio.run(run_with_backoff(closed, status, Waits(1.0, 1.0), failed=print))
    assert status.state == "stopped"
    with pytest.raises(ValueError, match="not a connection error"):
        asyncio.run(
            run_with_backoff(
                broken,
                Status(),
                Waits(1.0, 1.0),
                failed=print,
                retried=(OSError,),
            )
        )


def test_a_stop_turned_into_an_error_by_the_attempt_still_stops() -> None:
    async def main() -> Status:
        status = Status()
        started = asyncio.Event()

        async def attempt(this: Attempt) -> None:
            started.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                raise OSError("cut while stopping") from None

        task = asyncio.create_task(
            run_with_backoff(attempt, status, Waits(60.0, 60.0), failed=print)
        )
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return status

    status = asyncio.run(main())
    assert (status.state, status.reconnects) == ("stopped", 0)

"""The fusion's place in the JetStream journal: a durable consumer acknowledged only up to
what a saved checkpoint covers, kept across processes, never ahead of the position it
is given."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from tessera.journal.jetstream import JetStreamJournal
from tessera.journal.jetstream_cursor import consumer_name
from tessera.journal.jetstream_log import delete_journal
from tests.journal.test_journal_contract import (
    NATS_HOST,
    NATS_PORT,
    NATS_URL,
    FakeClock,
    jetstream_journal,
    jetstream_names,
    report,
)
from tests.services import require_service

CURSOR = "fusion_TEST"


@pytest.fixture
def on_nats(tmp_path: Path) -> Iterator[Path]:
    require_service("NATS", NATS_HOST, NATS_PORT)
    yield tmp_path
    asyncio.run(delete_journal(NATS_URL, jetstream_names(tmp_path)[0]))


def journal(path: Path) -> JetStreamJournal:
    return jetstream_journal(path, FakeClock(), ticks=False, cursor=CURSOR)


async def commits(journal: JetStreamJournal, sizes: list[int], prefix: str) -> list[int]:
    """One commit per size (each append awaited alone); each commit's last seq."""
    ends = []
    for index, size in enumerate(sizes):
        result = await journal.append([report(f"{prefix}{index}-{i}") for i in range(size)])
        ends.append(result.last_seq)
    return ends


async def ack_floor(path: Path) -> int:
    nc = await nats.connect(NATS_URL)
    try:
        info = await nc.jetstream().consumer_info(jetstream_names(path)[0], CURSOR)
        return info.ack_floor.stream_seq if info.ack_floor else 0
    finally:
        await nc.close()


def test_the_cursor_moves_only_over_whole_commits_and_is_kept_on_the_server(
    on_nats: Path,
) -> None:
    async def scenario() -> None:
        first = journal(on_nats)
        await first.open()
        assert first.cursor_position == 0
        ends = await commits(first, [3, 2, 4], "a")  # entries 1-3, 4-5, 6-9
        assert ends == [3, 5, 9]
        assert await first.acknowledge(4) == 3  # the second commit is not whole at 4
        assert await ack_floor(on_nats) == 1
        assert await first.acknowledge(5) == 5
        assert await ack_floor(on_nats) == 2
        await first.close()

        # The next process (a standby taking over) finds the position on the server.
        second = journal(on_nats)
        await second.open()
        assert second.cursor_position == 5
        await commits(second, [1], "b")  # entry 10
        assert await second.acknowledge(10) == 10
        assert await ack_floor(on_nats) == 4
        await second.close()

    asyncio.run(scenario())


def test_a_takeover_never_acknowledges_past_the_position_it_is_given(on_nats: Path) -> None:
    async def scenario() -> None:
        dying = journal(on_nats)
        await dying.open()
        await commits(dying, [1] * 6, "a")  # entries 1..6, one a commit
        # It fetches every commit while acknowledging the first two, then is gone.
        assert await dying.acknowledge(2) == 2
        await dying.close()

        standby = journal(on_nats)
        await standby.open()
        assert standby.cursor_position == 2
        # Its own state covers entry 4: what the dead worker was delivered beyond that
        # must not be acknowledged by it.
        assert await standby.acknowledge(4) == 2
        assert await ack_floor(on_nats) == 2
        await commits(standby, [1, 1], "b")  # entries 7, 8
        assert await standby.acknowledge(8) == 8
        assert await ack_floor(on_nats) == 8
        await standby.close()

    asyncio.run(scenario())


def test_a_journal_without_a_cursor_refuses_to_acknowledge(on_nats: Path) -> None:
    async def scenario() -> None:
        plain = jetstream_journal(on_nats, FakeClock(), ticks=False)
        await plain.open()
        try:
            assert plain.cursor_position is None
            with pytest.raises(RuntimeError, match="without a cursor"):
                await plain.acknowledge(1)
        finally:
            await plain.close()

    asyncio.run(scenario())


def test_consumer_names_depend_on_the_set_of_pictures_only() -> None:
    assert consumer_name(["REL-UKR", "NATO-SECRET"]) == consumer_name(["NATO-SECRET", "REL-UKR"])
    assert consumer_name(["NATO-SECRET"]) == "fusion_NATO-SECRET"
    assert consumer_name(["a.b c"]) != consumer_name(["a_b c"])
    long = consumer_name([f"picture-{i:03d}" for i in range(40)])
    assert long.startswith("fusion_") and len(long) <= 64
    assert "." not in consumer_name(["a.b"]) and " " not in consumer_name(["a b"])

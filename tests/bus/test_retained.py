"""The in-process bus's retained window: the latest change of each item, so its size
follows the items changed, not the changes (a NATS bus's gateways keep theirs in one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tessera.bus.base import Subscriber
from tessera.bus.memory import MemoryBus
from tessera.settings import load_settings
from tessera.store.base import TrackQuery
from tests.bus.test_bus_contract import (
    PICTURES,
    memory_buses,
    removal,
    run,
    taken,
    track,
    upsert,
)


def test_the_window_keeps_the_latest_change_of_each_item() -> None:
    async def scenario() -> None:
        # Three tracks changing 40 times in all: a window of five holds them all, however
        # many changes that took.
        async with memory_buses(5) as buses:
            changes = [upsert(seq, track(f"t{seq % 3}", 18.0 + seq / 100)) for seq in range(1, 41)]
            buses.publisher.publish("COP", changes)
            await buses.settle("COP", 40)
            resumed = Subscriber(TrackQuery(), visible=None)
            assert buses.receiver.attach("COP", resumed, 2) is True
            assert await taken(resumed) == changes[-3:]
            gone = removal(41, "t0")
            buses.publisher.publish("COP", [gone])
            await buses.settle("COP", 41)
            later = Subscriber(TrackQuery(), visible=None)
            assert buses.receiver.attach("COP", later, 38) is True
            assert await taken(later) == [changes[-1], gone]

    run(scenario())


def test_a_full_window_forgets_the_least_recently_changed_item() -> None:
    async def scenario() -> None:
        async with memory_buses(3) as buses:
            first = [upsert(seq, track(f"t{seq}")) for seq in (1, 2, 3)]
            buses.publisher.publish("COP", first)
            again = upsert(4, track("t1", 18.5))
            newest = upsert(5, track("t4"))
            buses.publisher.publish("COP", [again, newest])
            await buses.settle("COP", 5)
            # t2 (changed at 2) was forgotten: a client that last saw 1 missed it.
            assert buses.receiver.attach("COP", Subscriber(TrackQuery(), visible=None), 1) is False
            resumed = Subscriber(TrackQuery(), visible=None)
            assert buses.receiver.attach("COP", resumed, 2) is True
            assert await taken(resumed) == [first[2], again, newest]

    run(scenario())


def test_a_memory_bus_holds_one_change_per_item_changed() -> None:
    bus = MemoryBus(PICTURES, retained=1_000)
    for seq in range(1, 2_001):
        bus.publish("COP", [upsert(seq, track(f"t{seq % 50}"))])
    assert bus.retained_count("COP") == 50
    assert bus.retained_count("REL-UKR") == 0
    assert bus.last_seq("COP") == 2_000
    with pytest.raises(ValueError, match="at least one"):
        MemoryBus(PICTURES, retained=0)


def test_a_window_of_no_changes_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="retained_changes must be at least 1"):
        load_settings(data_dir=tmp_path, retained_changes=0).validate()

"""What the fusion engine is told (its settings) and what it counts (its statistics)."""

from __future__ import annotations

import msgspec

from tessera.core.order_of_battle import Placement


class FusionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``batch_seconds``: micro-batch window of received time. ``short_lag``: a report
    received up to this long after it was observed is gated against the tracks as they
    are; an older one against where they were then (their history). ``update_lag``: a
    report observed up to this long before its track's state still corrects it, compared
    with the track carried back to its time; an older one only confirms."""

    batch_seconds: float = 1.0
    lineage_window: int = 200
    drop_dead_after: float = 300.0
    short_lag: float = 30.0
    update_lag: float = 300.0
    search_margin_m: float = 1_000.0
    velocity_sd: float = 1.0
    # The settings' order of battle, by unit subject (``core.order_of_battle``).
    order_of_battle: dict[str, Placement] = msgspec.field(default_factory=dict)


class FusionStats(msgspec.Struct, kw_only=True):
    reports: int = 0
    keyed: int = 0
    associated: int = 0
    initiated: int = 0
    late_updates: int = 0
    late_confirmations: int = 0
    too_old: int = 0
    retracted: int = 0

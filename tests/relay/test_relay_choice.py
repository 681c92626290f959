"""The settings choose the relay: NATS with the NATS bus, in-process otherwise; every
process its own origin. Building connects to nothing."""

from __future__ import annotations

from pathlib import Path

from tessera.app import build
from tessera.relay.memory import LocalRelay
from tessera.relay.nats import NatsRelay
from tessera.settings import load_settings


def test_the_embedded_default_relays_in_process(tmp_path: Path) -> None:
    relay = build(load_settings(data_dir=tmp_path)).cot_relay
    assert isinstance(relay, LocalRelay)


def test_the_nats_bus_brings_the_nats_relay_under_the_deployments_prefix(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, bus_backend="nats", cot_share_prefix="east.cot")
    first, second = build(settings).cot_relay, build(settings).cot_relay
    assert isinstance(first, NatsRelay) and isinstance(second, NatsRelay)
    assert (first.events_subject, first.sync_subject) == ("east.cot.events", "east.cot.sync")
    assert first.origin != second.origin

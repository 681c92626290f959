"""The exercise's simulated sensor feeds: what they send decodes as the feeds expect."""

from __future__ import annotations

import random

from pymavlink.dialects.v20 import common as mavlink

from tessera.codecs.adsb import SbsDecoder
from tessera.codecs.ais import AisDecoder
from tessera.codecs.mavlink import MavlinkDecoder
from tessera.settings import load_settings
from tessera.sim.sensor_feeds import (
    AIRLINERS,
    SHIPS,
    ais_second,
    demo_feeds,
    mavlink_second,
    sbs_second,
)


def test_the_simulated_feeds_decode_cleanly() -> None:
    ais = AisDecoder().take(ais_second(0.0, random.Random(1)), 0.0)
    assert len(ais.sightings) >= len(SHIPS) and not ais.problems
    assert all(54.0 < s.lat < 54.6 and 15.0 < s.lon < 16.2 for s in ais.sightings)
    sbs = SbsDecoder().take(sbs_second(10.0), 0.0)
    assert len(sbs.sightings) == len(AIRLINERS) and not sbs.problems
    encoder = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    drone = MavlinkDecoder().take(b"".join(mavlink_second(30.0, encoder)), 0.0)
    assert len(drone.sightings) == 1 and len(drone.footprints) == 1 and not drone.problems


def test_the_demo_feeds_are_valid_settings() -> None:
    settings = load_settings(feeds=demo_feeds(30003))
    assert [feed.kind for feed in settings.feeds] == ["ais", "adsb-sbs", "mavlink"]

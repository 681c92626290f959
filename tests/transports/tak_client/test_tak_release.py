"""Property: a track crosses to a TAK server exactly when the link's rule releases its
label, under the link's own uid; what this link itself reported never goes back; a track
once sent and then no longer releasable goes once more, stale at once, and carries no
part of its new state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from tessera.codecs.cot import encode_event
from tessera.core.labels import DEFAULT_LEVELS, AdmissionRule, ClassificationScheme, Picture, admits
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Source,
    SourceKind,
    Track,
    TrackStatus,
)
from tessera.transports.tak_client.config import TakServerConfig
from tessera.transports.tak_client.exchange import Releaser

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
SCHEME = ClassificationScheme(DEFAULT_LEVELS)
communities = st.lists(st.sampled_from(["NATO", "EU", "UKR", "POL"]), unique=True).map(
    lambda found: tuple(sorted(found))
)
labels = st.builds(Label, st.sampled_from(DEFAULT_LEVELS), communities)
rules = st.builds(
    AdmissionRule,
    st.none() | st.sampled_from(DEFAULT_LEVELS),
    st.none() | st.sampled_from(["NATO", "EU", "UKR", "POL"]),
)


def config(rule: AdmissionRule) -> TakServerConfig:
    return TakServerConfig(name="fts", address="tcp://127.0.0.1:8087", principal="p", release=rule)


def track(label: Label, lat: float = 53.1, source: str = "uav-17") -> Track:
    return Track(
        id="t42", position=Position(lat=lat, lon=18.0, ce=35.0), velocity=None,
        identity=Identity.HOSTILE, identity_confidence=0.9, sidc="10061500001202000000",
        status=TrackStatus.CONFIRMED, first_at=NOW - timedelta(minutes=5), updated_at=NOW,
        subject=None, quantity=None, grading=Grading.parse("B2"), label=label,
        sources=(Source(source, SourceKind.UAV),), lineage=("r1",), report_count=1,
    )  # fmt: skip


@given(rules, labels)
def test_a_track_crosses_exactly_when_the_rule_releases_its_label(
    rule: AdmissionRule, label: Label
) -> None:
    releaser = Releaser(config(rule), SCHEME)
    event = releaser.event("t42", track(label), NOW)
    released = admits(Picture("x", rule=rule), label, SCHEME)
    assert (event is not None) == released
    if event is not None:
        assert event.uid == "tessera-fts.t42" and event.stale > event.time
        encode_event(event)  # it is a valid event on the wire


@given(rules, labels, labels)
def test_a_track_no_longer_released_goes_once_stale_without_its_new_state(
    rule: AdmissionRule, first: Label, then: Label
) -> None:
    releaser = Releaser(config(rule), SCHEME)
    sent = releaser.event("t42", track(first), NOW)
    later = NOW + timedelta(seconds=5)
    after = releaser.event("t42", track(then, lat=60.0), later)
    if admits(Picture("x", rule=rule), then, SCHEME):
        assert after is not None and after.lat == 60.0
    elif sent is None:
        assert after is None  # never sent: nothing to take back
    else:
        assert after is not None and after.lat == sent.lat  # the old state only
        assert after.stale == after.time
        assert releaser.event("t42", None, later) is None  # taken back once


def test_what_the_link_itself_reported_is_never_sent_back() -> None:
    releaser = Releaser(config(AdmissionRule()), SCHEME)
    assert releaser.event("t42", track(Label("UNCLASSIFIED"), source="fts"), NOW) is None
    both = msgspec.structs.replace(
        track(Label("UNCLASSIFIED"), source="fts"),
        sources=(Source("fts", SourceKind.SYSTEM), Source("uav-1", SourceKind.UAV)),
    )
    assert releaser.event("t42", both, NOW) is not None

"""``[[feeds]]`` in the settings: one sensor feed each (msgspec only, so the settings can
hold it without loading any feed's code)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

import msgspec

from tessera.core.labels import ClassificationScheme
from tessera.core.model import ID_PATTERN, Grading, Identity, Label
from tessera.transports.source_config import check_sources

FeedKind = Literal["ais", "adsb-sbs", "adsb-json", "mavlink", "klv", "klv-ts"]
# Which address schemes each kind takes: tcp:// connects to a server, udp:// listens,
# file:// reads a recording once, http(s):// polls.
SCHEMES: Final[dict[str, frozenset[str]]] = {
    "ais": frozenset({"tcp", "udp", "file"}),
    "adsb-sbs": frozenset({"tcp", "file"}),
    "adsb-json": frozenset({"http", "https", "file"}),
    "mavlink": frozenset({"tcp", "udp", "file"}),
    "klv": frozenset({"udp", "file"}),
    "klv-ts": frozenset({"udp", "tcp", "file"}),
}
# What each kind reports unless the feed says otherwise: ships and airliners are
# neutral traffic; a drone a feed is given is our own.
DEFAULT_IDENTITY: Final[dict[str, Identity]] = {
    "ais": Identity.NEUTRAL,
    "adsb-sbs": Identity.NEUTRAL,
    "adsb-json": Identity.NEUTRAL,
    "mavlink": Identity.FRIEND,
    "klv": Identity.FRIEND,
    "klv-ts": Identity.FRIEND,
}
FeedName = Annotated[str, msgspec.Meta(pattern=ID_PATTERN, max_length=64)]


class FeedConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One feed: its ``name`` is the source id its reports carry (granted to
    ``principal`` by the settings themselves), ``address`` a URL whose scheme says how
    it is read. ``label`` and ``grading`` mark every report it makes (no label: the
    source's, or else the principal's default)."""

    name: FeedName
    kind: FeedKind
    address: str
    principal: str
    label: Label | None = None
    grading: str = "C3"
    identity: Identity | None = None
    # Reconnecting: the first wait, doubled after each failure up to the longest.
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    # aircraft.json: how often it is fetched.
    poll_s: float = 1.0
    # Footprints and tracks of one platform: at most one report a this many seconds.
    min_interval_s: float = 0.0
    # A recording (file://) is replayed at the pace its own timestamps give ("paced",
    # faster or slower by replay_speed), or as fast as it can be read ("fast").
    replay: Literal["paced", "fast"] = "paced"
    replay_speed: float = 1.0

    @property
    def own_subjects(self) -> str:
        """The source pattern of the platforms the feed carries (its drones, its KLV
        platform), each reporting itself: granted to the feed's principal with its name."""
        return f"{self.name}:*"

    @property
    def scheme(self) -> str:
        return urlsplit(self.address).scheme

    @property
    def reported_identity(self) -> Identity:
        return self.identity or DEFAULT_IDENTITY[self.kind]

    def problem(self) -> str | None:
        """What is wrong with this feed's settings, or None."""
        allowed = SCHEMES[self.kind]
        parts = urlsplit(self.address)
        if parts.scheme not in allowed:
            return f"a {self.kind} feed's address is one of {', '.join(sorted(allowed))}://…"
        if parts.scheme in ("tcp", "udp"):
            try:
                port = parts.port
            except ValueError as exc:
                return f"address: {exc}"
            if not parts.hostname or port is None:
                return f"address: {parts.scheme}://HOST:PORT"
        if parts.scheme == "file" and not parts.path:
            return "address: file:///path/to/recording"
        try:
            Grading.parse(self.grading)
        except ValueError as exc:
            return f"grading {exc}"
        if not 0 < self.backoff_s <= self.backoff_max_s:
            return "backoff_s must be positive and at most backoff_max_s"
        if not 0.05 <= self.poll_s <= 3600:
            return "poll_s must be within 0.05..3600"
        if not 0 <= self.min_interval_s <= 3600:
            return "min_interval_s must be within 0..3600"
        if not 0.001 <= self.replay_speed <= 10_000:
            return "replay_speed must be within 0.001..10000"
        return None


def check_feeds(feeds: Sequence[FeedConfig], scheme: ClassificationScheme) -> None:
    """Raise ValueError naming the first feed set up wrongly."""
    check_sources("feeds", "feed", feeds, scheme)

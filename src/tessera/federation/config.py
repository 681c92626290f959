"""``[[federation]]`` in the settings: one link to a partner Tessera each (msgspec only,
so the settings can hold it without loading the link's code).

A link works both ways. Outbound, this node dials ``peer`` (when given) and sends what
``release`` admits; inbound, it accepts the peer's own dialling (its client certificate
issued by ``peer_ca``) and journals what arrives as reports of the source ``name``,
graded ``grading``, refusing labels above ``ceiling``.
"""

from __future__ import annotations

import re
from collections.abc import Set
from typing import Annotated, Final

import msgspec

from tessera.codecs.federation import NODE_PATTERN
from tessera.core.labels import AdmissionRule, ClassificationScheme
from tessera.core.model import ID_PATTERN, Grading

LinkName = Annotated[str, msgspec.Meta(pattern=ID_PATTERN, max_length=64)]
LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})


class FederationLink(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One partner. ``peer``: ``host:port`` of its federation listener (None: it dials
    us, we never dial it). ``peer_ca``: the PEM file of the CA that issued the partner's
    certificates (its server's and its client's). ``client_cert``/``client_key``: what
    this node presents (None: a certificate issued by this node's own CA, made once).
    ``release``: the outbound rule, as a picture's (``max_classification``,
    ``releasable_to``). ``ceiling``: the highest classification taken in.
    ``rate_bps``: the most this link sends, in bits per second (None: no cap)."""

    name: LinkName
    peer_ca: str | None = None
    peer: str | None = None
    release: AdmissionRule
    ceiling: str
    grading: str = "B2"
    client_cert: str | None = None
    client_key: str | None = None
    rate_bps: int | None = None
    # Items per batch, batches in flight before an acknowledgement.
    batch_items: int = 200
    window: int = 4
    # Reconnecting: the first wait, doubled after each failure up to the longest.
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    # No acknowledgement for this long: the connection is taken for dead.
    ack_timeout_s: float = 30.0
    # A new position with no item to carry it (the journal's ticks, what the link does
    # not release) goes alone at most this often: the peer's resume point moves on
    # without spending the link's bytes every second.
    position_every_s: float = 10.0

    @property
    def peer_address(self) -> tuple[str, int] | None:
        if self.peer is None:
            return None
        host, _, port = self.peer.rpartition(":")
        return host.strip("[]"), int(port)

    def problem(self, scheme: ClassificationScheme, tls: bool) -> str | None:
        """What is wrong with this link's settings, or None."""
        if self.peer is not None:
            host, _, port = self.peer.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                return "peer: HOST:PORT"
            if not tls and host.strip("[]") not in LOOPBACK:
                return "federation_tls = false is for loopback peers only"
        if tls and self.peer_ca is None:
            return "peer_ca: the partner's CA certificate (PEM) is needed for TLS"
        if (self.client_cert is None) != (self.client_key is None):
            return "client_cert and client_key go together"
        for level in (self.ceiling, self.release.max_classification):
            if level is not None and level not in scheme:
                return f"{level!r} is not one of the classification levels"
        try:
            Grading.parse(self.grading)
        except ValueError as exc:
            return f"grading {exc}"
        if self.rate_bps is not None and self.rate_bps < 1000:
            return "rate_bps must be at least 1000 (or null for no cap)"
        if not 1 <= self.batch_items <= 5000 or not 1 <= self.window <= 64:
            return "batch_items must be within 1..5000 and window within 1..64"
        if not 0 < self.backoff_s <= self.backoff_max_s:
            return "backoff_s must be positive and at most backoff_max_s"
        if not self.ack_timeout_s > 0:
            return "ack_timeout_s must be positive"
        if not 0 <= self.position_every_s <= 10:
            # At most the ping's interval: a held position never keeps a link silent.
            return "position_every_s must be within 0..10"
        return None


def links_problem(
    links: tuple[FederationLink, ...],
    node: str | None,
    scheme: ClassificationScheme,
    *,
    tls: bool = True,
    host: str = "127.0.0.1",
) -> str | None:
    """What is wrong with the federation settings as a whole, or None. Without ``tls``
    (plain TCP: an encrypting tunnel's end, or a test reading the frames) the listener
    binds loopback only, and a peer is known by its node id, the link's name."""
    if not links:
        return None
    if node is None or not re.match(NODE_PATTERN, node):
        return "federation_node (this node's id, as partners see it) is needed with links"
    if not tls and host not in LOOPBACK:
        return "federation_tls = false needs federation_host on loopback"
    names = [link.name for link in links]
    if len(set(names)) != len(names):
        return "federation: link names must be distinct"
    for link in links:
        if problem := link.problem(scheme, tls):
            return f"federation link {link.name}: {problem}"
    return None


def check_federation(
    links: tuple[FederationLink, ...],
    node: str | None,
    scheme: ClassificationScheme,
    *,
    tls: bool,
    host: str,
    others: Set[str],
) -> None:
    """Raise ValueError naming what is wrong with the federation settings; ``others`` are
    the names of the feeds and TAK servers, which no link may share."""
    if problem := links_problem(links, node, scheme, tls=tls, host=host):
        raise ValueError(problem)
    if clash := sorted({link.name for link in links} & others):
        # Each is the source id of what it brings in: one name, one source.
        raise ValueError(f"federation: {', '.join(clash)} is also a feed's or TAK server's")

"""``[[tak_servers]]`` in the settings: one TAK server this node connects to as a client
(msgspec only, so the settings can hold it without loading the link's code).

Outbound, the link sends the tracks of ``picture`` that ``release`` admits, as CoT.
Inbound, what the server's other clients share becomes reports of the source ``name``
(kind ``system``), labelled ``label`` (else the principal's default) and graded
``grading``; each TAK uid is a subject under the link's name (``name:uid``).
"""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import urlsplit

import msgspec

from tessera.core.labels import AdmissionRule, ClassificationScheme
from tessera.core.model import ID_PATTERN, Grading, Label

TakServerName = Annotated[str, msgspec.Meta(pattern=ID_PATTERN, max_length=48)]
SCHEMES: Final = frozenset({"tcp", "tls"})


class TakServerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One TAK server. ``address``: ``tcp://HOST:PORT`` or ``tls://HOST:PORT``.
    ``principal``: who the link acts as (it reads ``picture`` and reports as ``name``).
    TLS: ``ca_file`` (PEM) checks the server; the client certificate is ``client_cert``
    and ``client_key`` (PEM) or ``p12`` (PKCS#12, with ``p12_password``).
    ``uid``: the link's own uid on the server (its position and the prefix of every uid
    it sends, which is how the server's echo of them is recognised)."""

    name: TakServerName
    address: str
    principal: str
    release: AdmissionRule
    picture: str = "COP"
    label: Label | None = None
    grading: str = "C3"
    callsign: str | None = None
    uid: str | None = None
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    p12: str | None = None
    p12_password: str | None = None
    check_hostname: bool = True
    # The link's own position is sent again this often (TAK servers drop silent clients).
    presence_s: float = 30.0
    # How long a sent track stays on TAK maps without an update.
    stale_s: float = 120.0
    # Reconnecting: the first wait, doubled after each failure up to the longest.
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0

    @property
    def scheme(self) -> str:
        return urlsplit(self.address).scheme

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.address)
        assert parts.hostname is not None and parts.port is not None  # problem() said so
        return parts.hostname, parts.port

    @property
    def own_uid(self) -> str:
        return self.uid or f"tessera-{self.name}"

    @property
    def own_subjects(self) -> str:
        """The source pattern of the subjects its reports name: granted with its name."""
        return f"{self.name}:*"

    def problem(self, scheme: ClassificationScheme) -> str | None:
        """What is wrong with this link's settings, or None."""
        parts = urlsplit(self.address)
        if parts.scheme not in SCHEMES:
            return "address: tcp://HOST:PORT or tls://HOST:PORT"
        try:
            port = parts.port
        except ValueError as exc:
            return f"address: {exc}"
        if not parts.hostname or port is None:
            return "address: tcp://HOST:PORT or tls://HOST:PORT"
        if parts.scheme == "tcp" and any(
            (self.ca_file, self.client_cert, self.client_key, self.p12)
        ):
            return "certificates are for a tls:// address"
        if (self.client_cert is None) != (self.client_key is None):
            return "client_cert and client_key go together"
        if self.p12 is not None and self.client_cert is not None:
            return "give either p12 or client_cert and client_key"
        levels = [self.release.max_classification]
        if self.label is not None:
            levels.append(self.label.classification)
        for level in levels:
            if level is not None and level not in scheme:
                return f"{level!r} is not one of the classification levels"
        try:
            Grading.parse(self.grading)
        except ValueError as exc:
            return f"grading {exc}"
        if not 0 < self.backoff_s <= self.backoff_max_s:
            return "backoff_s must be positive and at most backoff_max_s"
        if not 1 <= self.presence_s <= 3600 or not 10 <= self.stale_s <= 86_400:
            return "presence_s must be within 1..3600 and stale_s within 10..86400"
        return None


def tak_servers_problem(
    servers: tuple[TakServerConfig, ...],
    scheme: ClassificationScheme,
    pictures: frozenset[str],
    taken_names: frozenset[str],
) -> str | None:
    """What is wrong with the TAK server links as a whole, or None (``taken_names``:
    the source names feeds already use)."""
    names = [server.name for server in servers]
    if len(set(names)) != len(names):
        return "tak_servers: names must be distinct"
    for server in servers:
        if server.name in taken_names:
            return f"tak server {server.name}: a feed already reports as that name"
        if server.picture not in pictures:
            return f"tak server {server.name}: no picture named {server.picture!r}"
        if problem := server.problem(scheme):
            return f"tak server {server.name}: {problem}"
    return None

"""Typed, frozen settings: built once (from defaults, a TOML file and the command line)
and passed down. Nothing reads configuration from anywhere else."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import msgspec

from tessera.cluster.config import check_role
from tessera.core.alerts.rules import AlertSettings, settings_problems
from tessera.core.banners import DEFAULT_BANNER_COLOURS
from tessera.core.labels import (
    DEFAULT_LEVELS,
    DEFAULT_PICTURE,
    ClassificationScheme,
    Picture,
    pictures_problem,
)
from tessera.core.model import MAX_HOLD, Label
from tessera.core.order_of_battle import Placement
from tessera.core.space.catalog import SatelliteSource
from tessera.federation.config import FederationLink, check_federation
from tessera.retention_config import MIN_JOURNAL_BYTES as MIN_JOURNAL_BYTES
from tessera.retention_config import MIN_RETENTION_S as MIN_RETENTION_S
from tessera.retention_config import check_retention
from tessera.security.base import SecurityStoreError, SourceGrant, check_record
from tessera.space.config import check_satellites
from tessera.tiles.config import BasemapSetting, check_basemaps
from tessera.transports.cot_stream.config import PlainPortMode as PlainPortMode
from tessera.transports.cot_stream.config import check_plain_ports
from tessera.transports.feeds.config import FeedConfig, check_feeds
from tessera.transports.imagery.config import ImagerySource, check_imagery
from tessera.transports.tak_client.config import TakServerConfig, tak_servers_problem
from tessera.transports.web.config import check_http_edge
from tessera.transports.web.config import origin_problem as origin_problem


class SourceOwnership(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[[sources]]`` in the settings file: a principal and the source ids it may report
    as (exact, or a prefix ending in ``*``)."""

    principal: str
    ids: tuple[str, ...]


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    http_port: int = 8080
    # The HTTP edge. X-Forwarded-For is believed only from these proxies (addresses or
    # networks: "10.0.0.5", "10.0.0.0/24"); from anyone else the sign-in limits and the
    # audit trail see the socket's own address.
    trusted_proxies: tuple[str, ...] = ()
    # Browser pages on these origins may read /api/v1 and /ogc (CORS), each request still
    # with its token: origins as a browser sends them ("https://gis.example.org", with a
    # port only if not the scheme's own), or "*" alone for any origin. Empty: none (no
    # CORS headers at all; same-origin pages, and non-browser clients, need none).
    cors_origins: tuple[str, ...] = ()
    # A connection whose request head is not complete this long after it opened (or after
    # its first byte following a response) is closed, so idle and trickling connections
    # cannot pile up; between requests a connection is kept this many whole seconds.
    http_header_timeout_s: float = 10.0
    http_keep_alive_s: int = 5
    # Open HTTP connections, WebSocket streams included: past this many, a new request or
    # stream is answered 503 at once (streams already open go on). Keep it above the
    # streams one server holds, and the open-file limit above it; null for no limit.
    http_max_connections: int | None = 10_000
    # HTTPS for the map and the API: http_tls = true serves TLS with the data folder's
    # server certificate (tessera certs init); http_tls_cert and http_tls_key (PEM, the
    # key unencrypted) serve one from elsewhere instead, and turn TLS on by themselves.
    http_tls: bool = False
    http_tls_cert: Path | None = None
    http_tls_key: Path | None = None
    # Classification levels, lowest first. A report must carry a label, or take its
    # source's default (source_labels, by source id), or its sender's (the principal's
    # default_label), or this one; with none of them it is refused.
    levels: tuple[str, ...] = DEFAULT_LEVELS
    default_label: Label | None = None
    source_labels: dict[str, Label] = msgspec.field(default_factory=dict)
    # The source registry's fixed part: which principal may report as which source ids
    # (``tessera sources`` keeps the rest in the security store). A report from a source
    # its sender holds no grant for is refused.
    sources: tuple[SourceOwnership, ...] = ()
    pictures: tuple[Picture, ...] = (DEFAULT_PICTURE,)
    # Banner colours by level: [background, text] (defaults in tessera.core.banners).
    banner_colours: dict[str, tuple[str, str]] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_BANNER_COLOURS)
    )
    # Access: failed credentials tolerated per client address within the window before
    # that address is refused (429), and each principal's request rate (a token bucket).
    auth_failures_allowed: int = 10
    auth_failure_window_s: float = 300.0
    requests_per_second: float = 200.0
    request_burst: int = 1_000
    # CoT for TAK clients (DESIGN §7): TLS with client certificates on by default (set
    # cot_tls_port to null to turn it off); plain TCP and UDP only when given a port and the
    # principal everything arriving there acts as (trusted networks only).
    cot_tls_port: int | None = 8089
    cot_tcp_port: int | None = None
    cot_tcp_principal: str | None = None
    cot_udp_port: int | None = None
    cot_udp_principal: str | None = None
    # What one plain connection carries: "client", one TAK client (the first uid it
    # reports as its own is its unit, every other a marker it placed), or "gateway", many
    # units (a radio gateway, a mesh: each uid its own unit, a marker linked to its unit).
    # A UDP mesh carries many clients' positions, so it is a gateway unless told otherwise.
    cot_tcp_mode: PlainPortMode = "client"
    cot_udp_mode: PlainPortMode = "gateway"
    # The TAK enrollment API (HTTPS with the server certificate): TAK clients enroll for a
    # client certificate with a one-time token (tessera certs enroll-token). It runs with
    # the CoT TLS port only; null turns it off.
    tak_enrollment_port: int | None = 8446
    cot_max_event_bytes: int = 64 * 1024
    cot_handshake_timeout_s: float = 10.0
    cot_idle_timeout_s: float = 300.0
    # How often live TAK clients' certificates and principals are checked again: a client
    # revoked or disabled (by `tessera certs revoke`, `tessera users disable`) is closed
    # within this time.
    cot_recheck_s: float = 2.0
    # How long a track sent to TAK clients stays on their maps without an update.
    cot_stale_s: float = 300.0
    cot_write_buffer_bytes: int = 256 * 1024
    cot_max_queued_messages: int = 1_000
    # Chat a TAK client is given on connecting: what was said within this many seconds
    # of now (each message once, never private chat); 0 gives none.
    cot_chat_replay_s: float = 3600.0
    # Ingest limits; other request bodies (login, admin calls) stay small.
    max_body_bytes: int = 16 * 1024 * 1024
    max_small_body_bytes: int = 16 * 1024
    max_batch_items: int = 10_000
    max_future_skew_s: float = 300.0
    # How long an import's reports hold (and fusion keeps their tracks) when neither the
    # importer (valid_for, valid_until) nor the file (an NVG TimeSpan end) says: 24 h.
    import_valid_for_s: float = 86_400.0
    # Journal: how often a tick marks time when nothing arrives (it is what closes fusion's
    # last micro-batch when the feed goes quiet, so it bounds a lone report's delay).
    tick_interval_s: float = 1.0
    # Retention (null: keep everything, the default). The journal drops its oldest
    # entries once older than journal_max_age_s or beyond journal_max_bytes, but never one
    # that a saved state does not yet cover (every picture's checkpoint and, with PostGIS,
    # the report archive): a restart never needs what was dropped. A report id stays a
    # repeat (answered with its first seq) for dedup_window_s after it arrived (default:
    # journal_max_age_s), dropped or not: on SQLite through a small table of the dropped
    # entries' keys, on JetStream through its claims. After the window, SQLite takes an id
    # whose entry was dropped as a new report; JetStream asks the PostGIS report archive,
    # which holds every report.
    # Sizes: the SQLite file's pages in use; on JetStream the log's stream and its chunks.
    # Every process of a deployment must be given the same values.
    journal_max_age_s: float | None = None
    journal_max_bytes: int | None = None
    dedup_window_s: float | None = None
    # Change feed: for subscribers resuming with since, each picture keeps the latest change
    # of up to this many tracks and overlays (those changed most recently; one entry per
    # item however often it changed, sharing the item with the picture itself). A gateway
    # starting reads at most this many changes before the seq its copy of a picture holds.
    retained_changes: int = 100_000
    heartbeat_s: float = 5.0
    # Fusion: how many report ids a track keeps in its lineage window, and the micro-batch
    # window of received time. One microsecond makes each journal commit (one or more
    # POSTed batches, stamped with its own strictly increasing time) one micro-batch, fused
    # as soon as it is read.
    lineage_window: int = 200
    fusion_batch_s: float = 0.000001
    # Scale-out (DESIGN §5): a PostgreSQL/PostGIS connection string. When set, principals,
    # tokens, certificates, the audit trail and the TAK/TLS CA (one for every gateway) live
    # there (run `tessera migrate` first).
    postgis_dsn: str | None = None
    # What this process is: "all" (the embedded default: everything in one), a "gateway"
    # (HTTP, stream, CoT, map; appends to the journal, reads the store, follows the change
    # feed) or a "fusion" worker (follows the journal, keeps the pictures; one active at a
    # time through a lease, standbys waiting). Gateways and fusion workers need the
    # JetStream journal, the NATS bus and PostGIS.
    role: Literal["all", "gateway", "fusion"] = "all"
    journal_backend: Literal["sqlite", "jetstream"] = "sqlite"
    bus_backend: Literal["memory", "nats"] = "memory"
    nats_servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    journal_stream: str = "TESSERA_JOURNAL"
    journal_prefix: str = "tessera.journal"
    changes_stream: str = "TESSERA_CHANGES"
    changes_prefix: str = "tessera.changes"
    # With bus_backend = "nats", what TAK clients share (positions, markers, drawings,
    # chat) reaches the TAK clients of every other gateway: live, over core NATS subjects
    # under this prefix (one per deployment; their reports are journaled as always).
    cot_share_prefix: str = "tessera.cot"
    # Copies JetStream keeps of the journal and the change feed (3 on a 3-node cluster);
    # the fusion lease's bucket is made with journal_replicas copies too.
    journal_replicas: int = 1
    changes_replicas: int = 1
    # The fusion lease: a key per picture in this JetStream key-value bucket, gone this
    # long after its holder stops renewing it (a standby then takes over). The revision
    # that took a key is the worker's epoch, its fencing token in PostGIS and the change
    # feed: do not delete the bucket of a deployment that has run (epochs would restart
    # below those recorded, and every worker would be refused). A fusion worker's
    # PostgreSQL statements and idle transactions end after half of lease_ttl_s.
    lease_bucket: str = "TESSERA_LEASES"
    # The pictures a fusion worker fuses (empty: every picture). Workers given different
    # pictures fuse side by side; each picture has one active worker at a time, and a
    # standby given the same pictures takes over when it dies.
    fusion_pictures: tuple[str, ...] = ()
    lease_ttl_s: float = 6.0
    # How often fusion saves its state (and once more at a clean stop), so a restarted
    # server, or the worker that takes over, replays only the journal since then: in the
    # data folder (checkpoints.sqlite3) on the embedded default, in PostGIS with it.
    checkpoint_interval_s: float = 60.0
    # Basemaps the map offers besides its built-in one (``[[basemaps]]``: name, path to a
    # .pmtiles or .mbtiles file, kind "vector" or "raster", optional MapLibre style).
    basemaps: tuple[BasemapSetting, ...] = ()
    # Alert rules made in the settings, webhooks, and how alerts are judged and sent.
    alerts: AlertSettings = AlertSettings()
    # How far apart (in journal time) history keeps snapshots of each picture: a seek to
    # a past time replays at most this much of the journal (history.sqlite3 in the data
    # folder, or PostGIS; dropped with the journal entries they need).
    history_snapshot_interval_s: float = 300.0
    # And at most this many journal entries apart: a busy journal gets snapshots more
    # often, so a seek replays at most this many entries whatever the rate.
    history_snapshot_entries: int = 4_000
    # Sensor feeds ([[feeds]]: AIS, ADS-B, MAVLink, KLV; tessera.transports.feeds), each
    # reporting as its name, a source granted to its principal by this entry.
    feeds: tuple[FeedConfig, ...] = ()
    # Federation with partner Tessera nodes ([[federation]]: tessera.federation): this
    # node's id as partners see it, where it listens for their links (None: it does not;
    # 0 picks a free port) and the links.
    federation_node: str | None = None
    federation_host: str = "127.0.0.1"
    federation_port: int | None = None
    federation_tls: bool = True
    federation: tuple[FederationLink, ...] = ()
    # Satellites ([[satellites]]: element sets from a file or a URL, label, identity,
    # sensor; tessera.space): passes, pass warnings and the map's space tracks.
    satellites: tuple[SatelliteSource, ...] = ()
    # TAK servers this node joins as a client ([[tak_servers]]: tessera.transports.tak_client),
    # each reporting what the server shares as its name, a source granted to its principal.
    tak_servers: tuple[TakServerConfig, ...] = ()
    # The order of battle, by unit subject (uid): its formation's subject and its echelon
    # (``[order_of_battle]``, ``"BLUE-COY-7" = { parent = "BLUE-BN-2", echelon =
    # "company" }``), for units whose own reports leave them out.
    order_of_battle: dict[str, Placement] = msgspec.field(default_factory=dict)
    # Imagery sources ([[imagery]]: STAC APIs and static catalogues; tessera.transports.
    # imagery), searched every interval_s for imagery over areas of interest.
    imagery: tuple[ImagerySource, ...] = ()

    @property
    def max_future_skew(self) -> timedelta:
        return timedelta(seconds=self.max_future_skew_s)

    @property
    def dedup_window(self) -> float | None:
        """How long a report id is recognised as a repeat (None: for ever)."""
        return self.dedup_window_s if self.dedup_window_s is not None else self.journal_max_age_s

    @property
    def retains_all(self) -> bool:
        """Whether the journal keeps every entry (no retention bound is set)."""
        return self.journal_max_age_s is None and self.journal_max_bytes is None

    @property
    def fused_pictures(self) -> tuple[Picture, ...]:
        """The pictures this process fuses: ``fusion_pictures``, or all of them."""
        if not self.fusion_pictures:
            return self.pictures
        return tuple(p for p in self.pictures if p.name in self.fusion_pictures)

    def source_grants(self) -> list[SourceGrant]:
        return (
            [
                SourceGrant(principal=entry.principal, pattern=pattern)
                for entry in self.sources
                for pattern in entry.ids
            ]
            + [
                SourceGrant(principal=feed.principal, pattern=pattern)
                for feed in self.feeds
                for pattern in (feed.name, feed.own_subjects)
            ]
            + [
                SourceGrant(principal=server.principal, pattern=pattern)
                for server in self.tak_servers
                for pattern in (server.name, server.own_subjects)
            ]
        )

    @property
    def scheme(self) -> ClassificationScheme:
        return ClassificationScheme(self.levels)

    def validate(self) -> None:
        """Raise ValueError naming what is inconsistent."""
        scheme = self.scheme
        labels = dict(self.source_labels)
        if self.default_label is not None:
            labels["default_label"] = self.default_label
        for where, label in labels.items():
            if label.classification not in scheme:
                raise ValueError(f"{where}: {label.classification!r} is not one of the levels")
        if self.auth_failures_allowed < 1 or self.auth_failure_window_s <= 0:
            raise ValueError("auth_failures_allowed and auth_failure_window_s must be positive")
        check_plain_ports(
            tcp_port=self.cot_tcp_port,
            tcp_principal=self.cot_tcp_principal,
            udp_port=self.cot_udp_port,
            udp_principal=self.cot_udp_principal,
            chat_replay_s=self.cot_chat_replay_s,
        )
        check_http_edge(
            trusted_proxies=self.trusted_proxies,
            cors_origins=self.cors_origins,
            header_timeout_s=self.http_header_timeout_s,
            keep_alive_s=self.http_keep_alive_s,
            max_connections=self.http_max_connections,
            tls_cert=self.http_tls_cert,
            tls_key=self.http_tls_key,
            requests_per_second=self.requests_per_second,
            request_burst=self.request_burst,
        )
        check_basemaps(self.basemaps)
        check_retention(
            max_age_s=self.journal_max_age_s,
            max_bytes=self.journal_max_bytes,
            dedup_window_s=self.dedup_window_s,
            journal_backend=self.journal_backend,
            postgis_dsn=self.postgis_dsn,
        )
        if not 0 < self.cot_recheck_s <= 3600:
            raise ValueError("cot_recheck_s must be greater than 0 and at most 3600")
        if self.retained_changes < 1:
            raise ValueError("retained_changes must be at least 1")
        if not 0 < self.fusion_batch_s <= 60:
            raise ValueError("fusion_batch_s must be greater than 0 and at most 60")
        check_role(
            self.role,
            journal_backend=self.journal_backend,
            bus_backend=self.bus_backend,
            postgis_dsn=self.postgis_dsn,
        )
        if not self.checkpoint_interval_s > 0:
            raise ValueError("checkpoint_interval_s must be greater than zero")
        if not self.history_snapshot_interval_s > 0:
            raise ValueError("history_snapshot_interval_s must be greater than zero")
        if not self.history_snapshot_entries > 0:
            raise ValueError("history_snapshot_entries must be greater than zero")
        if not 0 < self.import_valid_for_s <= MAX_HOLD.total_seconds():
            most = f"{MAX_HOLD.total_seconds():g} ({MAX_HOLD.days} days)"
            raise ValueError(f"import_valid_for_s must be greater than 0 and at most {most}")
        if self.lease_ttl_s < 1:
            raise ValueError("lease_ttl_s must be at least 1 second")
        if problem := pictures_problem(
            self.pictures, scheme, self.fusion_pictures, fusion_role=self.role == "fusion"
        ):
            raise ValueError(problem)
        names = [picture.name for picture in self.pictures]
        try:
            for grant in self.source_grants():
                check_record(grant)
        except SecurityStoreError as exc:
            raise ValueError(f"sources: {exc}") from None
        check_feeds(self.feeds, scheme)
        check_federation(
            self.federation,
            self.federation_node,
            scheme,
            tls=self.federation_tls,
            host=self.federation_host,
            others={feed.name for feed in self.feeds} | {tak.name for tak in self.tak_servers},
        )
        check_satellites(self.satellites, scheme)
        if problem := tak_servers_problem(
            self.tak_servers,
            scheme,
            frozenset(picture.name for picture in self.pictures),
            frozenset(feed.name for feed in self.feeds),
        ):
            raise ValueError(problem)
        check_imagery(self.imagery, scheme)
        if problems := settings_problems(self.alerts, names):
            raise ValueError("; ".join(problems))

    @property
    def https(self) -> bool:
        """Whether the map and the API are served over TLS."""
        return self.http_tls or self.http_tls_cert is not None


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then the TOML file, then explicit overrides (command-line options)."""
    raw: dict[str, Any] = {}
    where = "invalid settings" if path is None else f"invalid settings in {path}"
    if path is not None:
        try:
            with path.open("rb") as handle:
                raw = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    raw.update({key: value for key, value in overrides.items() if value is not None})
    try:
        settings = msgspec.convert(raw, Settings, str_keys=True, dec_hook=_dec_hook)
        settings.validate()
    except (msgspec.ValidationError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return settings


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Path and isinstance(obj, str | Path):
        return Path(obj)
    raise NotImplementedError

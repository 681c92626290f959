"""Alert rules (one picture each): what a watch officer wants to be told of.

A rule is data; ``rule_problems`` says what is wrong with one, field by field, so the API,
the settings and the map refuse a bad rule with the same words.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from typing import Annotated, Final

import msgspec

from tessera.core.model import Identifier, Identity, Label
from tessera.core.text import FREE_TEXT_PATTERN


class RuleKind(enum.StrEnum):
    ENTER = "enter"  # a matching track comes into the area
    LEAVE = "leave"  # a matching track that was in the area goes out of it
    DWELL = "dwell"  # a matching track stays in the area at least dwell_s
    NEW_HOSTILE = "new-hostile"  # a track the picture shows as hostile for the first time
    PROXIMITY = "proximity"  # a matching track within distance_km of a friendly one
    LOST = "lost"  # a matching track not updated for lost_after_s (coasting, stale)
    EMERGENCY = "emergency"  # a TAK client's emergency (911, ring the bell), until cancelled
    # a hostile imaging satellite will pass over a matching (friendly) track within lead_s
    OVERHEAD = "satellite-pass"
    # An image (an imagery footprint overlay) over the area, or anywhere without one, is
    # on the picture: raised once per image, cleared when the image leaves the picture.
    NEW_IMAGERY = "new-imagery"


AREA_KINDS: Final = frozenset({RuleKind.ENTER, RuleKind.LEAVE, RuleKind.DWELL})
HOSTILE_OR_UNKNOWN: Final = (Identity.HOSTILE, Identity.UNKNOWN)
DEFAULT_IDENTITIES: Final = {
    RuleKind.ENTER: HOSTILE_OR_UNKNOWN,
    RuleKind.LEAVE: HOSTILE_OR_UNKNOWN,
    RuleKind.DWELL: HOSTILE_OR_UNKNOWN,
    RuleKind.NEW_HOSTILE: (Identity.HOSTILE,),
    RuleKind.PROXIMITY: (Identity.HOSTILE,),
    RuleKind.LOST: tuple(Identity),
    RuleKind.EMERGENCY: tuple(Identity),
    RuleKind.OVERHEAD: (Identity.FRIEND, Identity.ASSUMED_FRIEND),
    RuleKind.NEW_IMAGERY: tuple(Identity),
}
FRIENDLY: Final = frozenset({Identity.FRIEND, Identity.ASSUMED_FRIEND})
# What keeps a track's jitter at an edge from raising and clearing in turn: the condition
# ends only this far (metres) past where it began.
DEFAULT_MARGIN_M: Final = 100.0
RuleName = Annotated[str, msgspec.Meta(max_length=256, pattern=FREE_TEXT_PATTERN)]
Seconds = Annotated[float, msgspec.Meta(gt=0.0, le=7 * 86_400.0)]
Kilometres = Annotated[float, msgspec.Meta(gt=0.0, le=20_000.0)]
Metres = Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)]


class AlertRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``area``: the overlay (area, circle or corridor) of enter, leave and dwell rules,
    and optionally of new-imagery rules (without: imagery anywhere on the picture).
    ``identities``: the tracks the rule watches (empty: the kind's default, hostile or
    unknown for areas, hostile for new-hostile and proximity, all for lost, friendly for
    satellite-pass: the units warned ``lead_s`` before a hostile imaging satellite's pass
    that has them in its sensor's field, until it sets).
    ``origin``: ``settings`` for a rule the settings file makes (read-only elsewhere)."""

    id: Identifier
    picture: str
    kind: RuleKind
    name: RuleName = ""
    area: Identifier | None = None
    identities: tuple[Identity, ...] = ()
    dwell_s: Seconds | None = None
    distance_km: Kilometres | None = None
    lost_after_s: Seconds | None = None
    lead_s: Seconds | None = None
    margin_m: Metres = DEFAULT_MARGIN_M
    enabled: bool = True
    author: str = ""
    origin: str = "api"

    @property
    def watched(self) -> frozenset[Identity]:
        return frozenset(self.identities or DEFAULT_IDENTITIES[self.kind])

    @property
    def title(self) -> str:
        return self.name or f"{self.kind.value} ({self.id})"


class WebhookTarget(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[[webhooks]]`` in the settings: a system told of one picture's alerts, each
    delivery signed with HMAC-SHA256 under ``secret``. ``label``: the most it may be
    sent (an alert above it, or not releasable to it, is not sent); None: the picture's
    every alert (a system cleared for all of it)."""

    name: Identifier
    url: str
    secret: str
    picture: str
    label: Label | None = None


def rule_problems(rule: AlertRule) -> list[tuple[str, str]]:
    """What is wrong with ``rule`` for its kind, as (field, reason) pairs."""
    problems: list[tuple[str, str]] = []
    kind = rule.kind
    if kind in AREA_KINDS and rule.area is None:
        problems.append(("area", f"a {kind.value} rule needs an area (an overlay id)"))
    if kind not in AREA_KINDS and kind is not RuleKind.NEW_IMAGERY and rule.area is not None:
        problems.append(("area", f"a {kind.value} rule takes no area"))
    needs = {
        RuleKind.DWELL: ("dwell_s", rule.dwell_s),
        RuleKind.PROXIMITY: ("distance_km", rule.distance_km),
        RuleKind.LOST: ("lost_after_s", rule.lost_after_s),
        RuleKind.OVERHEAD: ("lead_s", rule.lead_s),
    }
    for needing, (field, value) in needs.items():
        if kind is needing and value is None:
            problems.append((field, f"a {kind.value} rule needs {field}"))
        elif kind is not needing and value is not None:
            problems.append((field, f"a {kind.value} rule takes no {field}"))
    if not math.isfinite(rule.margin_m):
        problems.append(("margin_m", "must be a finite number"))
    return problems


class AlertSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[alerts]`` in the settings file: rules made there (read-only in the API and the
    map), the webhooks told of alerts, and how alerts are judged and sent.

    ``tick_s``: how often dwell and lost rules are judged with no change arriving.
    Webhooks: a bounded queue per target (the oldest delivery is dropped, and counted,
    when it is full), ``webhook_attempts`` tries each, waiting ``webhook_backoff_s``
    doubled after every failure (at most ``webhook_backoff_max_s``)."""

    rules: tuple[AlertRule, ...] = ()
    webhooks: tuple[WebhookTarget, ...] = ()
    tick_s: float = 1.0
    webhook_queue: int = 1_000
    webhook_attempts: int = 8
    webhook_backoff_s: float = 1.0
    webhook_backoff_max_s: float = 300.0
    webhook_timeout_s: float = 10.0


def settings_problems(alerts: AlertSettings, pictures: Sequence[str]) -> list[str]:
    """What is inconsistent in the ``[alerts]`` settings, one line each."""
    problems: list[str] = []
    ids = [rule.id for rule in alerts.rules]
    if len(set(ids)) != len(ids):
        problems.append("alerts.rules: rule ids must be distinct")
    for rule in alerts.rules:
        if rule.picture not in pictures:
            problems.append(f"alerts.rules {rule.id}: no picture named {rule.picture!r}")
        problems += [f"alerts.rules {rule.id}: {f}: {why}" for f, why in rule_problems(rule)]
    for hook in alerts.webhooks:
        if hook.picture not in pictures:
            problems.append(f"alerts.webhooks {hook.name}: no picture named {hook.picture!r}")
        if not hook.url.startswith(("http://", "https://")):
            problems.append(f"alerts.webhooks {hook.name}: url must be http:// or https://")
        if len(hook.secret) < 16:
            problems.append(f"alerts.webhooks {hook.name}: secret must be 16 characters or more")
    numbers = (alerts.tick_s, alerts.webhook_backoff_s, alerts.webhook_timeout_s)
    if not all(0 < n <= 3600 for n in numbers) or alerts.webhook_backoff_max_s <= 0:
        problems.append("alerts: tick_s and the webhook times must be within (0, 3600] s")
    if alerts.webhook_queue < 1 or alerts.webhook_attempts < 1:
        problems.append("alerts: webhook_queue and webhook_attempts must be at least 1")
    return problems
